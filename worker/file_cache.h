/* file_cache.h - per-worker cache of small static files: content, size,
 * validators and MIME type, so a hit costs one fstatat() instead of
 * open + fstat + sendfile + close. Every hit is checked against the file
 * (device, inode, size, mtime), so a changed file is never served stale.
 * Direct-mapped: a new entry replaces whatever hashed to its slot. No
 * descriptors are kept, so nothing here limits connections.
 * Worker only; single-threaded.
 * SPDX-License-Identifier: MIT */
#ifndef WORKER_FILE_CACHE_H
#define WORKER_FILE_CACHE_H

#include <stddef.h>
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
};

struct file_cache_stats {
    unsigned long hits, misses, stale, entries;
    size_t        bytes;
};

/* Drop every entry. Safe to call at any time. */
void file_cache_clear(void);

/* The entry for KEY if the file behind it is unchanged, checked with one
 * fstatat() below ROOT_FD; NULL on a miss or when it changed (the entry is
 * dropped). Valid until the next file_cache_* call. */
const struct file_cache_entry *file_cache_get(int root_fd, const char *key);

/* Cache the content of FD (ST describes it; regular, at most
 * FILE_CACHE_FILE_MAX bytes) under KEY, for FILE below root. FD stays the
 * caller's. Returns the entry, or NULL when it does not qualify, the byte
 * budget is spent, or reading fails. */
const struct file_cache_entry *file_cache_put(const char *key, const char *file,
                                              int fd, const struct stat *st,
                                              const char *mime,
                                              const char *etag);

void file_cache_get_stats(struct file_cache_stats *st);

#endif
