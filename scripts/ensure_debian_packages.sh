#!/usr/bin/env bash
# Makes sure the Debian packages the tests and the production profile need are installed:
# chromium + a Chinese font (Playwright drives Debian's Chromium with executable_path; no browser
# download), nginx (the production profile's load balancer) and kubectl (tests/deploy renders the
# Kubernetes manifests with `kubectl kustomize`, offline). Installs them with apt-get when running
# as root; under CI=true a missing package is an error.
# kubectl: any kubectl already on PATH will do (e.g. the `kubectl` package of Google's repository,
# kustomize 5); otherwise Debian's own `kubernetes-client` (kubectl 1.20 with kustomize 2.0.3, which
# renders deploy/kubernetes the same way). Installing it beside another kubectl would clash over
# /usr/bin/kubectl, so it is installed only when no kubectl is there.
set -u
have_font() { fc-list 2>/dev/null | grep -qi "wenquanyi\|noto sans cjk"; }
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
have_font || missing+=(fonts-wqy-zenhei)
{ command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; } || missing+=(nginx)
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing Debian packages: ${missing[*]}..."
  # A policy-rc.d keeps apt from starting the packaged nginx service on port 80 (one that the
  # machine already has is left as it is).
  own_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
  fi
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}") >/tmp/qkf-debian-install.log 2>&1
  status=$?
  [ -n "$own_policy" ] && rm -f /usr/sbin/policy-rc.d
  [ $status -eq 0 ] && exit 0
  echo "error: apt-get install ${missing[*]} failed; see /tmp/qkf-debian-install.log" >&2
else
  echo "warning: missing Debian packages: ${missing[*]} (installing them needs root and apt-get)." >&2
  echo "         The browser, production-profile and Kubernetes manifest tests are skipped until then." >&2
fi
if [ "${CI:-}" = "true" ]; then
  echo "error: CI needs ${missing[*]} for the browser, production-profile and Kubernetes manifest tests" >&2
  exit 1
fi
exit 0
