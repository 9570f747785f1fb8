#!/bin/sh
# Debian packages Puente needs, installed only when missing (idempotent).
#   run:  espeak-ng + sox render the prompt audio (`ivr prompts build`); sip-tester (SIPp) places
#         the README's first calls
#   test: also chromium (browser tests) and Asterisk's recorded human voices (en, es) that the
#         speech tests and bench/speech.py listen to
#   speech-adapt: also what the speech experiments need: bench/mllr_experiment.py (sphinxtrain,
#         sphinx_fe, pocketsphinx_mdef_convert, pocketsphinx-testdata's recordings to adapt PocketSphinx's
#         model) and bench/digits_tidigits.py (pocketsphinx-testdata's 8 kHz TIDIGITS digits model);
#         not needed to run or test
set -eu
profile="${1:-test}"
case "$profile" in
    run) PACKAGES="espeak-ng sox sip-tester" ;;
    test) PACKAGES="espeak-ng sox sip-tester chromium asterisk-core-sounds-en-wav asterisk-core-sounds-es-wav" ;;
    speech-adapt) PACKAGES="espeak-ng sox sip-tester chromium asterisk-core-sounds-en-wav asterisk-core-sounds-es-wav
        sphinxtrain sphinxbase-utils pocketsphinx pocketsphinx-testdata" ;;
    *) echo "usage: $0 [run|test|speech-adapt]" >&2; exit 2 ;;
esac
missing=""
for pkg in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
done
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
    echo "missing system packages:$missing (install them with your package manager)" >&2
    exit 1
fi
echo "installing Debian packages:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
