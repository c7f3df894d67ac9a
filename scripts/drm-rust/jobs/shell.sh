#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# make shell: an interactive shell in the test kernel, or the command in $CMD. Exit to power off.

cd "$REPO" || exit 1
if [ -n "$CMD" ]; then
	sh -c "$CMD"
else
	echo "drm-rust test kernel: userspace tests in $BIN, IGT in /usr/libexec/igt-gpu-tools."
	echo "Type 'exit' to power off."
	setsid -c sh -i
fi
