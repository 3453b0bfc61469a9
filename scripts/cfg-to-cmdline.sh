#!/usr/bin/env bash
# cfg-to-cmdline.sh FILE: prints an hv.cfg as the one-line command line the
# UEFI loader makes of it ('#' comments dropped, lines joined by blanks,
# runs of blanks made one; inside double quotes '#' and blanks are kept),
# for the GRUB path, which passes the command line in grub.cfg instead.
set -euo pipefail
awk '
{ text = text $0 "\n" }
END {
	out = ""; quoted = 0; comment = 0
	n = length(text)
	for (i = 1; i <= n; i++) {
		c = substr(text, i, 1)
		if (c == "\n" || c == "\r") {
			comment = 0; c = " "
		} else if (comment) {
			continue
		} else if (c == "#" && !quoted) {
			comment = 1; continue
		} else if (c == "\"") {
			quoted = !quoted
		}
		if (c == "\t" && !quoted)
			c = " "
		if (c == " " && !quoted && (out == "" || substr(out, length(out), 1) == " "))
			continue
		out = out c
	}
	sub(/ +$/, "", out)
	printf "%s", out
}' "$1"
