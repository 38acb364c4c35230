# ctest: fails when a .ts file has an entry without a translation (cmake -DTS=file -P check_complete.cmake).
file(READ ${TS} content)
string(REGEX MATCHALL "type=\"unfinished\"" unfinished "${content}")
list(LENGTH unfinished count)
if(count GREATER 0)
  message(FATAL_ERROR "${TS}: ${count} untranslated entries (ninja update_translations, then translations/tools/fill_translations.py)")
endif()
message(STATUS "${TS}: complete")
