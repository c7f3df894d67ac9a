// SPDX-License-Identifier: GPL-2.0
/*
 * Powers the UML test kernel off once the init script is done (when init exits instead, the
 * kernel panics).
 */
#include <stdio.h>
#include <sys/reboot.h>
#include <unistd.h>

int main(void)
{
	sync();
	reboot(RB_POWER_OFF);
	perror("reboot(RB_POWER_OFF)");
	return 1;
}
