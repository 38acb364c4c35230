# Windows installer (NSIS through CPack), included by installer/CMakeLists.txt on WIN32 only.
# Kept in step with the Linux packages (same components, version and file types) but never built or
# tested: the project is built and checked on Debian only, and the engine's backend loader is
# POSIX (dlopen). Whoever ports it runs `cpack -G NSIS` on Windows and checks each point below.

# Qt's DLLs, QML modules (QtQuick.Controls with Material, Layouts, Dialogs, Templates, Window,
# WorkerScript), the QSQLITE driver and platform plugins beside glmchat.exe, as the .deb's Depends
# bring them on Debian.
find_program(GLMCHAT_WINDEPLOYQT windeployqt HINTS "${Qt6_DIR}/../../../bin")
if(GLMCHAT_WINDEPLOYQT)
  install(CODE "execute_process(COMMAND \"${GLMCHAT_WINDEPLOYQT}\" --release --no-translations
      --qmldir \"${PROJECT_SOURCE_DIR}/app/qml\" \"\${CMAKE_INSTALL_PREFIX}/bin/glmchat.exe\")"
    COMPONENT app)
endif()

set(CPACK_NSIS_PACKAGE_NAME "GLM Chat")
set(CPACK_NSIS_DISPLAY_NAME "GLM Chat ${PROJECT_VERSION}")
set(CPACK_NSIS_INSTALLED_ICON_NAME "bin\\\\glmchat.exe")
set(CPACK_NSIS_URL_INFO_ABOUT "https://glmchat.org")
set(CPACK_NSIS_ENABLE_UNINSTALL_BEFORE_INSTALL ON)
set(CPACK_NSIS_MODIFY_PATH OFF)
set(CPACK_NSIS_EXECUTABLES_DIRECTORY bin)
set(CPACK_NSIS_MUI_FINISHPAGE_RUN glmchat.exe)
# Components as on Linux: the app with glmchat-cli (required), the CUDA backend (optional).
set(CPACK_COMPONENT_APP_REQUIRED ON)
set(CPACK_COMPONENT_CLI_REQUIRED ON)
set(CPACK_COMPONENT_DESKTOP_HIDDEN ON)

# "Open with" for the document types the app reads (the .desktop MimeType= list on Linux). The
# uninstaller removes these keys and the installed files only: the user's data in
# %APPDATA%\GLM Chat (conversations.sqlite, settings.ini) is never touched.
set(GLMCHAT_NSIS_EXTENSIONS .txt .md .markdown .html .htm .pdf .docx .csv .log .c .cpp .h .hpp .py .js .ts
    .java .go .rs .json .yaml .yml .toml .xml .css .qml)
set(install_cmds "WriteRegStr HKCU 'Software\\\\Classes\\\\Applications\\\\glmchat.exe\\\\shell\\\\open\\\\command' '' '\"$INSTDIR\\\\bin\\\\glmchat.exe\" \"%1\"'\n")
set(uninstall_cmds "DeleteRegKey HKCU 'Software\\\\Classes\\\\Applications\\\\glmchat.exe'\n")
foreach(ext ${GLMCHAT_NSIS_EXTENSIONS})
  string(APPEND install_cmds "WriteRegStr HKCU 'Software\\\\Classes\\\\Applications\\\\glmchat.exe\\\\SupportedTypes' '${ext}' ''\n")
  string(APPEND install_cmds "WriteRegStr HKCU 'Software\\\\Classes\\\\${ext}\\\\OpenWithList\\\\glmchat.exe' '' ''\n")
  string(APPEND uninstall_cmds "DeleteRegKey HKCU 'Software\\\\Classes\\\\${ext}\\\\OpenWithList\\\\glmchat.exe'\n")
endforeach()
set(CPACK_NSIS_EXTRA_INSTALL_COMMANDS "${install_cmds}")
set(CPACK_NSIS_EXTRA_UNINSTALL_COMMANDS "${uninstall_cmds}")
