#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed for the browser tests (Playwright drives it with
# executable_path; no browser download). Installs it with apt-get when running as root.
set -u
have_font() { fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk"; }
if [ -x /usr/bin/chromium ] && have_font; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian's chromium and a Chinese font for the browser tests..."
  if (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei) >/tmp/qkf-chromium-install.log 2>&1; then
    exit 0
  fi
  echo "error: apt-get install chromium failed; see /tmp/qkf-chromium-install.log" >&2
else
  echo "warning: /usr/bin/chromium is missing and cannot be installed here (needs root and apt-get)." >&2
  echo "         Install Debian's chromium package; the browser tests are skipped until then." >&2
fi
if [ "${CI:-}" = "true" ]; then
  echo "error: CI needs Chromium for the browser tests" >&2
  exit 1
fi
exit 0
