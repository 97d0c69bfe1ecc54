/*
 * Preloaded into the lab's dropbear only: OpenWrt's 100-pubkey_path.patch, imitated for Debian's dropbear 2022.83,
 * which has no option for the key path. For root, OpenWrt's dropbear reads only /etc/dropbear/authorized_keys and
 * checks that /etc/dropbear and that file are not writable by group or others. Debian's dropbear builds the paths
 * ~/.ssh and ~/.ssh/authorized_keys from root's home (/root) and checks them with stat(), then reads the file with
 * fopen(): both calls are redirected here, so /root/.ssh is never read and dropbear's own permission rule applies to
 * /etc/dropbear. It still checks /root itself (the patch skips the home directory); the image makes /root 0700.
 * Sessions do not inherit this library: dropbear clears the environment of the programs it starts (no -e).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const char *redirect(const char *path) {
	if (path == NULL) return path;
	if (strcmp(path, "/root/.ssh") == 0) return "/etc/dropbear";
	if (strcmp(path, "/root/.ssh/authorized_keys") == 0) return "/etc/dropbear/authorized_keys";
	return path;
}

int stat(const char *path, struct stat *buf) {
	static int (*real)(const char *, struct stat *);
	if (!real) real = (int (*)(const char *, struct stat *))dlsym(RTLD_NEXT, "stat");
	return real(redirect(path), buf);
}

FILE *fopen(const char *path, const char *mode) {
	static FILE *(*real)(const char *, const char *);
	if (!real) real = (FILE * (*)(const char *, const char *)) dlsym(RTLD_NEXT, "fopen");
	return real(redirect(path), mode);
}

FILE *fopen64(const char *path, const char *mode) {
	static FILE *(*real)(const char *, const char *);
	if (!real) real = (FILE * (*)(const char *, const char *)) dlsym(RTLD_NEXT, "fopen64");
	return real(redirect(path), mode);
}
