/* file_cache.h - per-worker cache of small static files: content, size,
 * validators and MIME type, so a hit costs no system call instead of
 * open + fstat + sendfile + close.
 *
 * A changed file is never served stale. With inotify (file_watch.h), the
 * kernel reports a change to a cached file or to a directory on its path,
 * and the worker reads those reports first in every loop turn: a request
 * read in a later turn than the change, which is every request sent after
 * the change was complete and its event queued, sees the new file. (h2o
 * keeps its open-file cache for one loop turn on the same reasoning.) An
 * entry whose path has a symbolic link, on a network or FUSE file system
 * (whose changes from elsewhere inotify does not see), or beyond the
 * watch limit, is checked with one fstatat() on every hit instead, as is
 * every entry without inotify. Watched entries are also checked with
 * fstatat() once a second (FILE_CACHE_RECHECK_MS), for what inotify cannot
 * report at all: a file system mounted over a directory of the path, or a
 * write through a shared mapping.
 * Direct-mapped: a new entry replaces whatever hashed to its slot. No
 * descriptors are kept, so nothing here limits connections.
 * A key may have several entries told apart by a small number, the
 * encoding (0: the file itself; others: a precompressed variant beside
 * it), so a variant never answers for the file or for another variant.
 * The file's own entry also remembers which variants exist beside it and
 * when that was last looked at (static_file.c decides; see
 * file_cache_set_variants()).
 * Worker only; single-threaded.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_FILE_CACHE_H
#define WORKER_FILE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#define FILE_CACHE_SLOTS     1024
/* Larger files go out with sendfile. A cached body is copied behind the
 * response head into one buffer; this bound keeps head and body within the
 * pool's 16 KiB class. */
#define FILE_CACHE_FILE_MAX  (15 * 1024)
#define FILE_CACHE_BYTES_MAX (8 * 1024 * 1024)    /* content per worker */
#define FILE_CACHE_ETAG_MAX  48
#define FILE_CACHE_RECHECK_MS 1000  /* fstatat() of a watched entry */

struct file_cache_entry {
    char       *key;        /* the request's normalised path ("" = root) */
    char       *file;       /* the file served, below root (index resolved) */
    char       *body;
    size_t      size;
    dev_t       dev;
    ino_t       ino;
    struct timespec mtime;
    const char *mime;
    char        etag[FILE_CACHE_ETAG_MAX];
    unsigned    enc;        /* 0: the file itself, else a variant */
    unsigned    variants;   /* enc 0: bit e set when variant e exists */
    uint64_t    variants_at;    /* clock_now() when variants was found;
                                 * 0: never looked for */
    bool        nav;        /* an HTML page with the site's bar markers
                             * (site_nav.h): its answers vary by Cookie */
    int         watch;      /* the file's watch id (file_watch.h), or -1:
                             * checked with fstatat() on every hit */
    uint64_t    checked_at; /* clock_now() of the last fstatat() */
};

struct file_cache_stats {
    unsigned long hits, misses, stale, entries;
    unsigned long stat_checks;  /* fstatat() calls made by hits */
    unsigned long watched;      /* entries validated by inotify */
    unsigned long changed;      /* entries dropped on an inotify report */
    unsigned long restarts;     /* all dropped at FILE_WATCH_MAX watches */
    size_t        bytes;
};

/* Serve files below ROOT_FD (kept, not owned), with inotify when WATCH
 * and the kernel allows (else every hit is checked with fstatat()). */
void file_cache_init(int root_fd, bool watch);

/* Drop every entry and stop watching. */
void file_cache_deinit(void);

/* The descriptor that becomes readable when a watched file changes, or -1;
 * the worker's loop calls file_cache_changes() then, before it serves any
 * request of that turn. */
int file_cache_watch_fd(void);

/* Read the change reports and drop the entries they concern. */
void file_cache_changes(void);

/* Drop every entry. Safe to call at any time. */
void file_cache_clear(void);

/* The entry for KEY and encoding ENC if the file behind it is unchanged
 * (see above for how that is known); NULL on a miss or when it changed
 * (the entry is dropped). Valid until the next file_cache_put(),
 * file_cache_changes() or file_cache_clear(); file_cache_get() drops only
 * its own entry. */
const struct file_cache_entry *file_cache_get(const char *key, unsigned enc);

/* Cache the content of FD (ST describes it; regular, at most
 * FILE_CACHE_FILE_MAX bytes) under KEY and ENC, for FILE below root, with
 * no variants known. FD stays the caller's. Returns the entry, or NULL when
 * it does not qualify, the byte budget is spent, or reading fails. May drop
 * any other entry (the one in the slot it takes). */
const struct file_cache_entry *file_cache_put(const char *key, unsigned enc,
                                              const char *file, int fd,
                                              const struct stat *st,
                                              const char *mime,
                                              const char *etag);

/* Remember on KEY's own entry (encoding 0), if cached, that the variants
 * in the bit set VARIANTS exist beside its file, as seen at NOW (ms). */
void file_cache_set_variants(const char *key, unsigned variants, uint64_t now);

void file_cache_get_stats(struct file_cache_stats *st);

#endif
