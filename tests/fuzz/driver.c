/* SPDX-License-Identifier: MIT */
/*
 * A main() for a fuzz target without libFuzzer: every file named on the command line, and every
 * file in every folder named (in name order), goes once to LLVMFuzzerTestOneInput. meson test
 * runs each target this way over its seeds (corpus/NAME/, build/tests/fuzz/seeds/NAME/), so the harness and the
 * code under it build and run with any compiler; a crash, a sanitizer report or a harness check
 * fails the test. Exits 1 when it fed nothing: an empty corpus is a broken test.
 */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int feed_file(const char *path)
{
	gchar *buf = NULL;
	gsize len = 0;
	GError *err = NULL;
	uint8_t *copy;

	if (!g_file_get_contents(path, &buf, &len, &err)) {
		fprintf(stderr, "fuzz driver: %s\n", err->message);
		g_error_free(err);
		return -1;
	}
	/* Exactly len bytes, without the NUL g_file_get_contents adds: a sanitizer sees overreads.
	 */
	copy = g_memdup2(buf, len);
	g_free(buf);
	LLVMFuzzerTestOneInput(copy, len);
	g_free(copy);
	return 0;
}

static int feed_dir(const char *path, unsigned *n)
{
	GError *err = NULL;
	GDir *dir = g_dir_open(path, 0, &err);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	const char *name;
	int ret = 0;

	if (!dir) {
		fprintf(stderr, "fuzz driver: %s\n", err->message);
		g_error_free(err);
		g_ptr_array_free(names, TRUE);
		return -1;
	}
	while ((name = g_dir_read_name(dir)))
		g_ptr_array_add(names, g_build_filename(path, name, NULL));
	g_dir_close(dir);
	qsort(names->pdata, names->len, sizeof(char *), cmp_names);
	for (unsigned i = 0; i < names->len && !ret; i++) {
		const char *file = names->pdata[i];

		if (!g_file_test(file, G_FILE_TEST_IS_REGULAR))
			continue;
		ret = feed_file(file);
		if (!ret)
			(*n)++;
	}
	g_ptr_array_free(names, TRUE);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned n = 0;

	for (int i = 1; i < argc; i++) {
		int ret;

		if (g_file_test(argv[i], G_FILE_TEST_IS_DIR)) {
			ret = feed_dir(argv[i], &n);
		} else {
			ret = feed_file(argv[i]);
			if (!ret)
				n++;
		}
		if (ret)
			return 1;
	}
	printf("%u inputs\n", n);
	return n ? 0 : 1;
}
