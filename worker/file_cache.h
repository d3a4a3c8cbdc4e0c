/* file_cache.h - per-worker cache of small static files: content, size,
 * validators and MIME type, so a hit costs one fstatat() instead of
 * open + fstat + sendfile + close. Every hit is checked against the file
 * (device, inode, size, mtime), so a changed file is never served stale.
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
};

struct file_cache_stats {
    unsigned long hits, misses, stale, entries;
    size_t        bytes;
};

/* Drop every entry. Safe to call at any time. */
void file_cache_clear(void);

/* The entry for KEY and encoding ENC if the file behind it is unchanged,
 * checked with one fstatat() below ROOT_FD; NULL on a miss or when it
 * changed (the entry is dropped). Valid until the next file_cache_put() or
 * file_cache_clear(); file_cache_get() drops only its own entry. */
const struct file_cache_entry *file_cache_get(int root_fd, const char *key,
                                              unsigned enc);

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
