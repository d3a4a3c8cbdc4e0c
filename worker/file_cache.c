/* file_cache.c - small static files in memory (see file_cache.h).
 * SPDX-License-Identifier: MIT */
#include "file_cache.h"

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "defs.h"
#include "site_nav.h"

static struct {
    struct file_cache_entry *slot[FILE_CACHE_SLOTS];
    struct file_cache_stats  st;
} FC;

static size_t
file_cache_hash(const char *key, unsigned enc)
{
    uint32_t h = 2166136261u;       /* FNV-1a */

    for (const unsigned char *p = (const unsigned char *) key; *p; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    h ^= enc;                       /* as one more byte after the key */
    h *= 16777619u;
    return h % FILE_CACHE_SLOTS;
}

static void
file_cache_drop(size_t i)
{
    struct file_cache_entry *e = FC.slot[i];

    if (e == NULL)
        return;
    FC.st.bytes -= e->size;
    FC.st.entries--;
    free(e->key);
    free(e->file);
    free(e->body);
    free(e);
    FC.slot[i] = NULL;
}

void
file_cache_clear(void)
{
    for (size_t i = 0; i < FILE_CACHE_SLOTS; i++)
        file_cache_drop(i);
}

static bool
file_cache_same(const struct file_cache_entry *e, const struct stat *st)
{
    return S_ISREG(st->st_mode) && st->st_dev == e->dev && st->st_ino == e->ino
           && (size_t) st->st_size == e->size
           && st->st_mtim.tv_sec == e->mtime.tv_sec
           && st->st_mtim.tv_nsec == e->mtime.tv_nsec;
}

const struct file_cache_entry *
file_cache_get(int root_fd, const char *key, unsigned enc)
{
    size_t i = file_cache_hash(key, enc);
    struct file_cache_entry *e = FC.slot[i];
    struct stat st;

    if (e == NULL || e->enc != enc || strcmp(e->key, key) != 0) {
        FC.st.misses++;
        return NULL;
    }
    /* the file may have been rewritten, replaced or removed since */
    if (fstatat(root_fd, e->file[0] != '\0' ? e->file : ".", &st, 0) < 0
        || !file_cache_same(e, &st)) {
        FC.st.stale++;
        file_cache_drop(i);
        return NULL;
    }
    FC.st.hits++;
    return e;
}

const struct file_cache_entry *
file_cache_put(const char *key, unsigned enc, const char *file, int fd,
               const struct stat *st, const char *mime, const char *etag)
{
    size_t i = file_cache_hash(key, enc), size = (size_t) st->st_size, got = 0;
    struct file_cache_entry *e;

    if (!S_ISREG(st->st_mode) || size > FILE_CACHE_FILE_MAX
        || strlen(etag) >= FILE_CACHE_ETAG_MAX)
        return NULL;
    file_cache_drop(i);
    if (FC.st.bytes + size > FILE_CACHE_BYTES_MAX)
        return NULL;

    e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    e->key = strdup(key);
    e->file = strdup(file);
    e->body = malloc(size > 0 ? size : 1);
    if (e->key == NULL || e->file == NULL || e->body == NULL)
        goto fail;
    while (got < size) {
        ssize_t n = pread(fd, e->body + got, size - got, (off_t) got);
        if (n <= 0)
            goto fail;      /* error, or the file shrank meanwhile */
        got += (size_t) n;
    }
    e->size = size;
    e->dev = st->st_dev;
    e->ino = st->st_ino;
    e->mtime = st->st_mtim;
    e->mime = mime;
    e->enc = enc;
    e->nav = enc == 0 && strncmp(mime, "text/html", 9) == 0
             && memmem(e->body, size, SITE_NAV_OPEN, sizeof(SITE_NAV_OPEN) - 1)
                != NULL;
    strcpy(e->etag, etag);
    FC.slot[i] = e;
    FC.st.entries++;
    FC.st.bytes += size;
    return e;

fail:
    free(e->key);
    free(e->file);
    free(e->body);
    free(e);
    return NULL;
}

void
file_cache_set_variants(const char *key, unsigned variants, uint64_t now)
{
    struct file_cache_entry *e = FC.slot[file_cache_hash(key, 0)];

    if (e != NULL && e->enc == 0 && strcmp(e->key, key) == 0) {
        e->variants = variants;
        e->variants_at = now;
    }
}

void
file_cache_get_stats(struct file_cache_stats *st)
{
    *st = FC.st;
}
