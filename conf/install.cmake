# Install rules and the Debian package (CPack). Included from the root CMakeLists.txt
# after the sfu-server target.
#
# Layout, for prefix /usr (the .deb):
#   /usr/bin/sfu                          the server
#   /usr/share/sfu/web/                   the web page; the built-in web root with -DSFU_INSTALL_LAYOUT=ON
#   /etc/sfu/sfu.conf                     the sample config (a conffile in the .deb)
#   /usr/lib/systemd/system/sfu.service   the unit; its ExecStart names the two paths above
#   /usr/share/doc/sfu/                   README.md, deploy.md
# Another prefix P gives P/bin, P/share, P/etc/sfu (/usr maps to /etc as in GNUInstallDirs; its
# /opt/X -> /etc/opt/X rule is not applied: set CMAKE_INSTALL_SYSCONFDIR=/etc/opt/X for that)
# and P/lib/systemd/system (SFU_SYSTEMD_UNITDIR).
#
# The config and the unit are placed by install-time code, from the prefix in force then
# (`cmake --install B --prefix P` wins over CMAKE_INSTALL_PREFIX), so the unit's ExecStart and
# --config always name the files just installed. The unit is conf/sfu.service (written for
# /usr/bin/sfu and /etc/sfu/sfu.conf) with those two paths replaced; for prefix /usr it is
# installed unchanged. An existing, edited config is never overwritten: the new sample goes
# next to it as sfu.conf.new.
#
# The binary's built-in web root is fixed at configure time (root CMakeLists.txt):
#   development build (default)       the source tree's web/
#   -DSFU_INSTALL_LAYOUT=ON           CMAKE_INSTALL_PREFIX/share/sfu/web
# Installing a development build works but warns: that binary serves the source tree's page
# unless sfu.conf sets web_root.
#
# Debian package (needs SFU_INSTALL_LAYOUT=ON and prefix /usr; docs/deploy.md):
#   cmake -S . -B build-pkg -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr -DSFU_INSTALL_LAYOUT=ON
#   cmake --build build-pkg --target sfu-server
#   (cd build-pkg && cpack -G DEB)                 -> build-pkg/sfu_<version>-1_<arch>.deb

set(SFU_SYSTEMD_UNITDIR "lib/systemd/system" CACHE STRING
  "Directory for sfu.service: relative to the install prefix, or absolute")

install(TARGETS sfu-server RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/web/ DESTINATION ${CMAKE_INSTALL_DATADIR}/sfu/web)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${PROJECT_SOURCE_DIR}/docs/deploy.md
  DESTINATION ${CMAKE_INSTALL_DOCDIR})

# Configure-time facts for the install-time code below.
install(CODE "set(SFU_SRC \"${PROJECT_SOURCE_DIR}\")
set(SFU_BINDIR \"${CMAKE_INSTALL_BINDIR}\")
set(SFU_DATADIR \"${CMAKE_INSTALL_DATADIR}\")
set(SFU_SYSCONFDIR \"${CMAKE_INSTALL_SYSCONFDIR}\")
set(SFU_UNITDIR \"${SFU_SYSTEMD_UNITDIR}\")
set(SFU_LAYOUT \"${SFU_INSTALL_LAYOUT}\")
set(SFU_WEB_ROOT_BUILTIN \"${SFU_WEB_ROOT_DEFAULT}\")")
install(CODE [==[
  string(REGEX REPLACE "/+$" "" _sfu_p "${CMAKE_INSTALL_PREFIX}")
  macro(_sfu_under var dir)
    if(IS_ABSOLUTE "${dir}")
      set(${var} "${dir}")
    else()
      set(${var} "${_sfu_p}/${dir}")
    endif()
  endmacro()
  _sfu_under(_sfu_bin "${SFU_BINDIR}")
  _sfu_under(_sfu_web "${SFU_DATADIR}/sfu/web")
  _sfu_under(_sfu_unitdir "${SFU_UNITDIR}")
  if(NOT IS_ABSOLUTE "${SFU_SYSCONFDIR}" AND (_sfu_p STREQUAL "/usr" OR _sfu_p STREQUAL ""))
    set(_sfu_etc "/${SFU_SYSCONFDIR}")
  else()
    _sfu_under(_sfu_etc "${SFU_SYSCONFDIR}")
  endif()

  # The sample config; an operator's edited file stays.
  set(_sfu_conf "$ENV{DESTDIR}${_sfu_etc}/sfu/sfu.conf")
  file(READ "${SFU_SRC}/conf/sfu.conf" _sfu_sample)
  if(EXISTS "${_sfu_conf}")
    file(READ "${_sfu_conf}" _sfu_old)
  endif()
  if(EXISTS "${_sfu_conf}" AND NOT _sfu_old STREQUAL _sfu_sample)
    file(INSTALL DESTINATION "${_sfu_etc}/sfu" TYPE FILE RENAME sfu.conf.new FILES "${SFU_SRC}/conf/sfu.conf")
    message(STATUS "Kept the edited ${_sfu_etc}/sfu/sfu.conf; the new sample is ${_sfu_etc}/sfu/sfu.conf.new")
  else()
    file(INSTALL DESTINATION "${_sfu_etc}/sfu" TYPE FILE FILES "${SFU_SRC}/conf/sfu.conf")
  endif()

  # The unit, naming the installed binary and config.
  file(READ "${SFU_SRC}/conf/sfu.service" _sfu_unit)
  set(_sfu_from "ExecStart=/usr/bin/sfu --config /etc/sfu/sfu.conf\n")
  string(FIND "${_sfu_unit}" "${_sfu_from}" _sfu_at)
  if(_sfu_at LESS 0)
    message(FATAL_ERROR "conf/sfu.service has no line '${_sfu_from}' to adapt to the install paths")
  endif()
  string(REPLACE "${_sfu_from}" "ExecStart=${_sfu_bin}/sfu --config ${_sfu_etc}/sfu/sfu.conf\n"
    _sfu_unit "${_sfu_unit}")
  string(REPLACE "re-read /etc/sfu/sfu.conf" "re-read ${_sfu_etc}/sfu/sfu.conf" _sfu_unit "${_sfu_unit}")
  set(_sfu_dst "$ENV{DESTDIR}${_sfu_unitdir}/sfu.service")
  set(_sfu_cur "")
  if(EXISTS "${_sfu_dst}")
    file(READ "${_sfu_dst}" _sfu_cur)
  endif()
  if(_sfu_cur STREQUAL _sfu_unit)
    message(STATUS "Up-to-date: ${_sfu_dst}")
  else()
    message(STATUS "Installing: ${_sfu_dst}")
    file(WRITE "${_sfu_dst}" "${_sfu_unit}")
  endif()
  list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${_sfu_unitdir}/sfu.service")

  # What the installed binary will serve when sfu.conf sets no web_root.
  if(NOT SFU_LAYOUT)
    message(WARNING "sfu: installing a development build: the binary's built-in web root is the "
      "source tree (${SFU_WEB_ROOT_BUILTIN}), not ${_sfu_web}. Set web_root = ${_sfu_web} in "
      "${_sfu_etc}/sfu/sfu.conf, or rebuild with -DSFU_INSTALL_LAYOUT=ON -DCMAKE_INSTALL_PREFIX=${_sfu_p}.")
  elseif(NOT SFU_WEB_ROOT_BUILTIN STREQUAL _sfu_web)
    message(WARNING "sfu: the binary's built-in web root is ${SFU_WEB_ROOT_BUILTIN} (configured prefix) "
      "but the web files go to ${_sfu_web}: set web_root in ${_sfu_etc}/sfu/sfu.conf, or reconfigure "
      "with -DCMAKE_INSTALL_PREFIX=${_sfu_p}.")
  endif()
]==])

# ---- Debian package: cpack -G DEB ----
set(SFU_PACKAGE_CONTACT "sfu maintainers <sfu@example.org>" CACHE STRING "Maintainer field of the .deb")
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME sfu)
set(CPACK_PACKAGE_VENDOR sfu)
set(CPACK_PACKAGE_CONTACT "${SFU_PACKAGE_CONTACT}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "WebRTC selective forwarding unit for multi-party video rooms")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
  "sfu is a WebRTC SFU in C: browsers join rooms over a WebSocket, the server terminates ICE and\n"
  "DTLS-SRTP and forwards every publisher's audio and video to the other participants. It ships\n"
  "its web page, a systemd unit (Type=notify, hardened) and a sample /etc/sfu/sfu.conf.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Library dependencies from dpkg-shlibdeps, plus what the maintainer scripts use.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
# The sample config is a conffile: dpkg keeps local edits on upgrade and asks. (CPack of
# CMake 3.25 does not mark files under /etc by itself: checked with dpkg-deb -I.)
file(WRITE ${CMAKE_BINARY_DIR}/debian/conffiles "/etc/sfu/sfu.conf\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA ${CMAKE_BINARY_DIR}/debian/conffiles
  ${PROJECT_SOURCE_DIR}/conf/debian/postinst ${PROJECT_SOURCE_DIR}/conf/debian/prerm
  ${PROJECT_SOURCE_DIR}/conf/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
# Install with DESTDIR=<staging> and prefix /usr, so the install-time code above sees /usr
# (and puts the config in /etc).
set(CPACK_SET_DESTDIR ON)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
# Refuse to package a binary whose built-in web root is not the packaged one.
set(_sfu_pkg_ok 0)
if(SFU_INSTALL_LAYOUT AND CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(_sfu_pkg_ok 1)
endif()
file(WRITE ${CMAKE_BINARY_DIR}/CPackSfuCheck.cmake
  "if(NOT ${_sfu_pkg_ok} EQUAL 1)\n"
  "  message(FATAL_ERROR \"sfu: a package needs a build configured with -DSFU_INSTALL_LAYOUT=ON \"\n"
  "    \"-DCMAKE_INSTALL_PREFIX=/usr (this build: SFU_INSTALL_LAYOUT=${SFU_INSTALL_LAYOUT}, \"\n"
  "    \"prefix ${CMAKE_INSTALL_PREFIX}); its binary would look for the web page elsewhere\")\n"
  "endif()\n")
set(CPACK_PROJECT_CONFIG_FILE ${CMAKE_BINARY_DIR}/CPackSfuCheck.cmake)
include(CPack)
