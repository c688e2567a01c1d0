#!/usr/bin/env bash
# Installs a package from Debian's packages (apt), as root or with
# passwordless sudo: sourced by the scripts that need one.
install_debian_package() {
  local sudo=""
  [[ "$(id -u)" == 0 ]] || sudo="sudo"
  echo "== installing $1 from Debian's packages"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$1" >/dev/null
}
