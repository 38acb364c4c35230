# Read by cpack once per generator (CPACK_PROJECT_CONFIG_FILE). The .deb installs under /usr whatever
# CMAKE_INSTALL_PREFIX the build was configured with (scripts/build.sh leaves /usr/local); the
# archives stay relocatable trees (bin/, lib/glmchat/, share/).
if(CPACK_GENERATOR STREQUAL "DEB")
  set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
  # Each package's CPACK_DEBIAN_<GROUP|COMPONENT>_DESCRIPTION starts with its own synopsis; CPackDeb
  # would put the project-wide summary in front of it otherwise.
  unset(CPACK_PACKAGE_DESCRIPTION_SUMMARY)
endif()
