#!/usr/bin/env bash
# cfg-to-cmdline.sh FILE: prints an hv.cfg as the one-line command line the
# UEFI loader makes of it ('#' comments dropped, lines joined by blanks), for
# the GRUB path, which passes the command line in grub.cfg instead.
set -euo pipefail
sed -e 's/#.*//' "$1" | tr '\n\r\t' '   ' | tr -s ' ' | sed -e 's/^ //; s/ $//'
