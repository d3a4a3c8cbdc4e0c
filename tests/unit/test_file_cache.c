/* test_file_cache.c - the small-file cache serves hits from memory and
 * never serves a file that changed (rewritten, replaced, removed): every
 * case runs twice, with inotify (changes() stands for the worker's loop
 * reading the reports at the start of a turn) and without it (every hit
 * checked with fstatat()); then what only the watched cache does.
 * SPDX-License-Identifier: MIT */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "clock.h"
#include "file_cache.h"
#include "file_watch.h"

struct fx {
    char dir[64];
    int  root;
    bool watch;
};

/* What the worker's loop does first in a turn after a change. */
static void
changes(const struct fx *f)
{
    if (f->watch)
        file_cache_changes();
}

static unsigned long
gone(const struct file_cache_stats *st)
{
    return st->stale + st->changed;
}

static void
write_file(const struct fx *f, const char *name, const void *data, size_t len)
{
    char path[256];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", f->dir, name);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t) len);
    close(fd);
}

/* Open NAME below the root and cache it under KEY. */
static const struct file_cache_entry *
put(const struct fx *f, const char *key, const char *name)
{
    const struct file_cache_entry *e;
    struct stat st;
    int fd = openat(f->root, name, O_RDONLY);

    changes(f);     /* what happened before, read by an earlier loop turn */
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    e = file_cache_put(key, 0, name, fd, &st, "text/plain", "\"etag\"");
    close(fd);
    return e;
}

static int
setup_mode(void **state, bool watch)
{
    struct fx *f = calloc(1, sizeof(*f));

    strcpy(f->dir, "/tmp/ws-fcache-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
        return -1;
    f->root = open(f->dir, O_PATH | O_DIRECTORY);
    f->watch = watch;
    *state = f;
    if (f->root < 0)
        return -1;
    file_cache_init(f->root, watch);
    /* with inotify asked for, it must be there: else this tests nothing */
    return !watch || file_cache_watch_fd() >= 0 ? 0 : -1;
}

static int
setup(void **state)
{
    return setup_mode(state, false);
}

static int
setup_watch(void **state)
{
    return setup_mode(state, true);
}

static int
teardown(void **state)
{
    struct fx *f = *state;
    char cmd[128];

    file_cache_deinit();
    close(f->root);
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void
test_file_cache_hit_after_put(void **state)
{
    struct fx *f = *state;
    const struct file_cache_entry *e;
    struct file_cache_stats before, st;

    file_cache_get_stats(&before);      /* counters are per process */
    write_file(f, "a.txt", "hello", 5);
    assert_null(file_cache_get("a.txt", 0));
    e = put(f, "a.txt", "a.txt");
    assert_non_null(e);
    assert_int_equal(e->size, 5);
    assert_memory_equal(e->body, "hello", 5);
    assert_string_equal(e->etag, "\"etag\"");
    e = file_cache_get("a.txt", 0);
    assert_non_null(e);
    assert_memory_equal(e->body, "hello", 5);
    assert_null(file_cache_get("b.txt", 0));
    file_cache_get_stats(&st);
    assert_int_equal(st.hits - before.hits, 1);
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.bytes, 5);
}

/* The key ("dir/") and the file served ("dir/index.html") differ. */
static void
test_file_cache_key_differs_from_file(void **state)
{
    struct fx *f = *state;
    char path[256];

    snprintf(path, sizeof(path), "%s/dir", f->dir);
    assert_int_equal(mkdir(path, 0755), 0);
    write_file(f, "dir/index.html", "<p>", 3);
    assert_non_null(put(f, "dir/", "dir/index.html"));
    assert_non_null(file_cache_get("dir/", 0));
    assert_null(file_cache_get("dir", 0));
    write_file(f, "dir/index.html", "<p>2", 4);
    changes(f);
    assert_null(file_cache_get("dir/", 0));
}

static void
test_file_cache_rewritten_same_size_is_stale(void **state)
{
    struct fx *f = *state;
    struct timespec later[2] = { { 0, UTIME_OMIT }, { 2000000000, 5 } };
    char path[256];

    write_file(f, "a.txt", "AAAA", 4);
    assert_non_null(put(f, "a.txt", "a.txt"));
    write_file(f, "a.txt", "BBBB", 4);
    /* make sure the mtime differs even on a coarse clock */
    snprintf(path, sizeof(path), "%s/a.txt", f->dir);
    assert_int_equal(utimensat(AT_FDCWD, path, later, 0), 0);
    changes(f);
    assert_null(file_cache_get("a.txt", 0));
    assert_non_null(put(f, "a.txt", "a.txt"));
    assert_memory_equal(file_cache_get("a.txt", 0)->body, "BBBB", 4);
}

static void
test_file_cache_replaced_or_removed_is_stale(void **state)
{
    struct fx *f = *state;
    char a[256], b[256];
    struct file_cache_stats before, st;

    file_cache_get_stats(&before);      /* counters are per process */
    write_file(f, "a.txt", "one", 3);
    assert_non_null(put(f, "a.txt", "a.txt"));
    write_file(f, "b.txt", "two", 3);
    snprintf(a, sizeof(a), "%s/a.txt", f->dir);
    snprintf(b, sizeof(b), "%s/b.txt", f->dir);
    assert_int_equal(rename(b, a), 0);      /* another inode, same size */
    changes(f);
    assert_null(file_cache_get("a.txt", 0));

    assert_non_null(put(f, "a.txt", "a.txt"));
    assert_int_equal(unlink(a), 0);
    changes(f);
    assert_null(file_cache_get("a.txt", 0));
    file_cache_get_stats(&st);
    assert_int_equal(gone(&st) - gone(&before), 2);
    assert_int_equal(st.entries, 0);
}

static void
test_file_cache_refuses_large_and_keeps_budget(void **state)
{
    struct fx *f = *state;
    static char big[FILE_CACHE_FILE_MAX + 1];
    struct file_cache_stats st;
    char name[32];
    size_t n = FILE_CACHE_BYTES_MAX / FILE_CACHE_FILE_MAX + 20;

    write_file(f, "big.bin", big, sizeof(big));
    assert_null(put(f, "big.bin", "big.bin"));
    write_file(f, "max.bin", big, FILE_CACHE_FILE_MAX);
    assert_non_null(put(f, "max.bin", "max.bin"));

    /* more small files than the byte budget holds: it is never exceeded */
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "f%zu.bin", i);
        write_file(f, name, big, FILE_CACHE_FILE_MAX);
        put(f, name, name);
        file_cache_get_stats(&st);
        assert_true(st.bytes <= FILE_CACHE_BYTES_MAX);
    }
    file_cache_get_stats(&st);
    assert_true(st.entries > 0);
}

/* One key, several encodings: a precompressed variant is its own entry
 * (own file, body, tag), never answers for the file or for another
 * variant, and goes stale on its own. */
static void
test_file_cache_variants_kept_apart(void **state)
{
    struct fx *f = *state;
    const struct file_cache_entry *e;
    struct stat st;
    int fd;

    write_file(f, "p.html", "plain", 5);
    write_file(f, "p.html.gz", "GZ", 2);
    assert_non_null(put(f, "p.html", "p.html"));
    fd = openat(f->root, "p.html.gz", O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(fstat(fd, &st), 0);
    e = file_cache_put("p.html", 1, "p.html.gz", fd, &st, "text/html",
                       "\"tag-gz\"");
    close(fd);
    assert_non_null(e);
    assert_int_equal(e->enc, 1);

    e = file_cache_get("p.html", 0);
    assert_non_null(e);
    assert_int_equal(e->enc, 0);
    assert_memory_equal(e->body, "plain", 5);
    e = file_cache_get("p.html", 1);
    assert_non_null(e);
    assert_memory_equal(e->body, "GZ", 2);
    assert_string_equal(e->etag, "\"tag-gz\"");
    assert_string_equal(e->mime, "text/html");
    assert_null(file_cache_get("p.html", 2));
    /* a direct request for the .gz file is yet another key */
    assert_null(file_cache_get("p.html.gz", 0));

    /* the file's entry remembers which variants exist */
    file_cache_set_variants("p.html", 1u << 1, 4242);
    e = file_cache_get("p.html", 0);
    assert_int_equal(e->variants, 1u << 1);
    assert_int_equal(e->variants_at, 4242);
    file_cache_set_variants("nope.html", 1, 1);     /* not cached: nothing */

    /* the variant changes: only its entry goes */
    write_file(f, "p.html.gz", "GZ2", 3);
    changes(f);
    assert_null(file_cache_get("p.html", 1));
    assert_non_null(file_cache_get("p.html", 0));
}

/* Watched: a hit makes no system call; the entry stands until the loop
 * reads the report, and only then goes; once a second it is checked with
 * fstatat() all the same. */
static void
test_file_cache_watched_hits_cost_no_stat(void **state)
{
    struct fx *f = *state;
    const struct file_cache_entry *e;
    struct file_cache_stats before, st;

    write_file(f, "a.txt", "AAAA", 4);
    e = put(f, "a.txt", "a.txt");
    assert_non_null(e);
    assert_true(e->watch > 0);
    file_cache_get_stats(&before);
    for (int i = 0; i < 100; i++)
        assert_non_null(file_cache_get("a.txt", 0));
    file_cache_get_stats(&st);
    assert_int_equal(st.hits - before.hits, 100);
    assert_int_equal(st.stat_checks, before.stat_checks);
    assert_int_equal(st.watched, 1);

    /* a second later: one fstatat(), then none again */
    clock_now_cached += FILE_CACHE_RECHECK_MS;
    assert_non_null(file_cache_get("a.txt", 0));
    assert_non_null(file_cache_get("a.txt", 0));
    file_cache_get_stats(&st);
    assert_int_equal(st.stat_checks - before.stat_checks, 1);

    write_file(f, "a.txt", "BBBB", 4);      /* same size, maybe same mtime */
    changes(f);
    assert_null(file_cache_get("a.txt", 0));
    file_cache_get_stats(&st);
    assert_int_equal(st.changed - before.changed, 1);
    e = put(f, "a.txt", "a.txt");
    assert_non_null(e);
    assert_memory_equal(e->body, "BBBB", 4);
}

/* A directory on the path renamed and another put in its place: the path
 * names another file, with the same size and times. */
static void
test_file_cache_directory_swapped(void **state)
{
    struct fx *f = *state;
    struct timespec t[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
    char d[256], old[256], path[256];

    snprintf(d, sizeof(d), "%s/d", f->dir);
    snprintf(old, sizeof(old), "%s/old", f->dir);
    assert_int_equal(mkdir(d, 0755), 0);
    write_file(f, "d/x.txt", "one", 3);
    snprintf(path, sizeof(path), "%s/d/x.txt", f->dir);
    assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
    assert_non_null(put(f, "d/x.txt", "d/x.txt"));
    assert_non_null(file_cache_get("d/x.txt", 0));

    assert_int_equal(rename(d, old), 0);
    assert_int_equal(mkdir(d, 0755), 0);
    write_file(f, "d/x.txt", "two", 3);
    assert_int_equal(utimensat(AT_FDCWD, path, t, 0), 0);
    changes(f);
    assert_null(file_cache_get("d/x.txt", 0));
    assert_memory_equal(put(f, "d/x.txt", "d/x.txt")->body, "two", 3);
}

/* A symbolic link on the path: such an entry is checked on every hit
 * (where the link leads is not watched), and still never stale. */
static void
test_file_cache_symlinked_path_checked_on_every_hit(void **state)
{
    struct fx *f = *state;
    const struct file_cache_entry *e;
    struct file_cache_stats before, st;
    char d[256], l[256];

    snprintf(d, sizeof(d), "%s/real", f->dir);
    snprintf(l, sizeof(l), "%s/link", f->dir);
    assert_int_equal(mkdir(d, 0755), 0);
    assert_int_equal(symlink("real", l), 0);
    write_file(f, "real/x.txt", "one", 3);
    e = put(f, "link/x.txt", "link/x.txt");
    assert_non_null(e);
    assert_true(e->watch < 0);
    file_cache_get_stats(&before);
    assert_non_null(file_cache_get("link/x.txt", 0));
    assert_non_null(file_cache_get("link/x.txt", 0));
    file_cache_get_stats(&st);
    assert_int_equal(st.stat_checks - before.stat_checks, 2);
    write_file(f, "real/x.txt", "two!", 4);
    assert_null(file_cache_get("link/x.txt", 0));   /* no report needed */
}

/* More files than FILE_WATCH_MAX watches: every watch goes at once and
 * the cache starts over; entries cached after that are watched and seen
 * to change as before. */
static void
test_file_cache_watch_limit_starts_over(void **state)
{
    struct fx *f = *state;
    const struct file_cache_entry *e;
    struct file_cache_stats before, st;
    char name[32];

    file_cache_get_stats(&before);
    for (int i = 0; i < FILE_WATCH_MAX + 10; i++) {
        snprintf(name, sizeof(name), "f%d.txt", i);
        write_file(f, name, "x", 1);
        e = put(f, name, name);
        assert_non_null(e);
        assert_true(e->watch > 0);
    }
    file_cache_get_stats(&st);
    assert_int_equal(st.restarts - before.restarts, 1);
    assert_true(st.entries > 0);
    assert_int_equal(st.watched, st.entries);
    snprintf(name, sizeof(name), "f%d.txt", FILE_WATCH_MAX + 9);
    assert_non_null(file_cache_get(name, 0));
    write_file(f, name, "y", 1);
    changes(f);
    assert_null(file_cache_get(name, 0));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_file_cache_hit_after_put, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_cache_key_differs_from_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_cache_rewritten_same_size_is_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_cache_replaced_or_removed_is_stale, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_cache_refuses_large_and_keeps_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_cache_variants_kept_apart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_cache_directory_swapped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_cache_symlinked_path_checked_on_every_hit, setup, teardown),
        /* the same with inotify */
        cmocka_unit_test_setup_teardown(test_file_cache_hit_after_put, setup_watch, teardown),
        cmocka_unit_test_setup_teardown(test_file_cache_key_differs_from_file, setup_watch, teardown),
        cmocka_unit_test_setup_teardown(test_file_cache_rewritten_same_size_is_stale, setup_watch, teardown),
        cmocka_unit_test_setup_teardown(test_file_cache_replaced_or_removed_is_stale, setup_watch, teardown),
        cmocka_unit_test_setup_teardown(test_file_cache_refuses_large_and_keeps_budget, setup_watch, teardown),
        cmocka_unit_test_setup_teardown(test_file_cache_variants_kept_apart, setup_watch, teardown),
        cmocka_unit_test_setup_teardown(test_file_cache_directory_swapped, setup_watch, teardown),
        cmocka_unit_test_setup_teardown(test_file_cache_symlinked_path_checked_on_every_hit, setup_watch, teardown),
        /* only with inotify */
        cmocka_unit_test_setup_teardown(test_file_cache_watched_hits_cost_no_stat, setup_watch, teardown),
        cmocka_unit_test_setup_teardown(test_file_cache_watch_limit_starts_over, setup_watch, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
