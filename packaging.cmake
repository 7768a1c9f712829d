# Installation and the Debian package.
#
#   cmake -S . -B build -DCMAKE_INSTALL_PREFIX=/usr && cmake --build build
#   cmake --install build            # or: cd build && cpack -G DEB
#
# With the prefix /usr (the package's), files go where Debian expects
# them: the programs in /usr/bin, the man pages (gzipped, as Debian ships
# them) in /usr/share/man, the unit in /lib/systemd/system, the example
# configuration in /etc/satchel. Under another prefix the unit and the
# configuration follow the prefix (PREFIX/lib/systemd/system, PREFIX/etc).
include(GNUInstallDirs)

install(TARGETS satcheld satchel RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

# Man pages, compressed at build time (gzip -n: no timestamp, reproducible).
set(SATCHEL_MAN_PAGES satchel.1 satcheld.8)
foreach(page ${SATCHEL_MAN_PAGES})
  string(REGEX REPLACE ".*\\.([0-9])$" "\\1" section ${page})
  add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/man/${page}.gz
    COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/man
    COMMAND gzip -9 -n -c ${CMAKE_SOURCE_DIR}/man/${page} > ${CMAKE_BINARY_DIR}/man/${page}.gz
    DEPENDS ${CMAKE_SOURCE_DIR}/man/${page}
    VERBATIM)
  list(APPEND SATCHEL_MAN_GZ ${CMAKE_BINARY_DIR}/man/${page}.gz)
  install(FILES ${CMAKE_BINARY_DIR}/man/${page}.gz
          DESTINATION ${CMAKE_INSTALL_MANDIR}/man${section})
endforeach()
add_custom_target(man_pages ALL DEPENDS ${SATCHEL_MAN_GZ})

if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(SATCHEL_UNIT_DIR /lib/systemd/system)
else()
  set(SATCHEL_UNIT_DIR ${CMAKE_INSTALL_PREFIX}/lib/systemd/system)
endif()
#  GNUInstallDirs: /etc for the prefix /usr, else PREFIX/etc.
set(SATCHEL_CONF_DIR ${CMAKE_INSTALL_FULL_SYSCONFDIR}/satchel)
install(FILES systemd/satcheld.service DESTINATION ${SATCHEL_UNIT_DIR})
install(FILES systemd/satcheld.conf DESTINATION ${SATCHEL_CONF_DIR})
install(FILES README.md docs/curve.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES debian/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})

# The .deb, for an air-gapped farm: copy it over and dpkg -i it. Its
# dependencies are the runtime libraries by their Debian names, found by
# dpkg-shlibdeps from what the programs link. Installing it makes the
# system user satchel if missing and enables nothing (debian/postinst).
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME satchel)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "satchel maintainers <satchel@localhost>")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION "self-hosted test splitting for CI build farms
satcheld, a coordinator daemon, hands batches of tests to the satchel
agents in each parallel CI job over ZeroMQ, so that every node of a build
finishes at the same moment; timing history in SQLite. No hosted service,
no HTTP: for air-gapped and on-premises farms.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "passwd")
# conffiles: dpkg keeps an edited /etc/satchel/satcheld.conf on upgrade.
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_SOURCE_DIR}/debian/postinst ${CMAKE_SOURCE_DIR}/debian/postrm
    ${CMAKE_SOURCE_DIR}/debian/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
# The package is made from a build configured with the prefix /usr (see
# tests/test_package.sh); DESTDIR keeps the absolute paths (/etc, /lib)
# inside the package.
set(CPACK_SET_DESTDIR ON)
if(NOT CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  message(STATUS "satchel: cpack makes a proper .deb only with -DCMAKE_INSTALL_PREFIX=/usr")
endif()
include(CPack)
