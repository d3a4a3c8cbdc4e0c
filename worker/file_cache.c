/* file_cache.c - small static files in memory (see file_cache.h).
 * SPDX-License-Identifier: MIT */
#include "file_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "clock.h"
#include "defs.h"
#include "file_watch.h"
#include "site_nav.h"

static struct {
    struct file_cache_entry *slot[FILE_CACHE_SLOTS];
    struct file_cache_stats  st;
    int                      root_fd;
    bool                     watching;
} FC = { .root_fd = -1 };

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
    if (e->watch > 0)
        FC.st.watched--;
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

void
file_cache_init(int root_fd, bool watch)
{
    FC.root_fd = root_fd;
    FC.watching = watch && file_watch_open(root_fd) == RC_OK;
}

void
file_cache_deinit(void)
{
    file_cache_clear();
    file_watch_close();
    FC.watching = false;
}

int
file_cache_watch_fd(void)
{
    return FC.watching ? file_watch_fd() : -1;
}

/* A report from file_watch_drain(): the file watched as ID changed, or
 * (FILE_WATCH_ALL) any may have. */
static void
file_cache_changed(int id)
{
    for (size_t i = 0; i < FILE_CACHE_SLOTS; i++) {
        if (FC.slot[i] != NULL && FC.slot[i]->watch > 0
            && (id == FILE_WATCH_ALL || FC.slot[i]->watch == id)) {
            FC.st.changed++;
            file_cache_drop(i);
        }
    }
}

void
file_cache_changes(void)
{
    if (FC.watching)
        file_watch_drain(file_cache_changed);
}

const struct file_cache_entry *
file_cache_get(const char *key, unsigned enc)
{
    size_t i = file_cache_hash(key, enc);
    struct file_cache_entry *e = FC.slot[i];
    struct stat st;

    if (e == NULL || e->enc != enc || strcmp(e->key, key) != 0) {
        FC.st.misses++;
        return NULL;
    }
    /* Watched: any change was reported and has dropped the entry already;
     * else the file may have been rewritten, replaced or removed since */
    if (e->watch > 0 && clock_now() - e->checked_at < FILE_CACHE_RECHECK_MS) {
        FC.st.hits++;
        return e;
    }
    FC.st.stat_checks++;
    if (fstatat(FC.root_fd, e->file[0] != '\0' ? e->file : ".", &st, 0) < 0
        || !file_cache_same(e, &st)) {
        FC.st.stale++;
        file_cache_drop(i);
        return NULL;
    }
    e->checked_at = clock_now();
    FC.st.hits++;
    return e;
}

/* Is FD on a file system whose changes may come from elsewhere, unseen by
 * inotify (network, FUSE)? */
static bool
file_cache_remote(int fd)
{
    struct statfs fs;

    if (fstatfs(fd, &fs) < 0)
        return true;
    switch ((unsigned long) fs.f_type) {
    case NFS_SUPER_MAGIC: case SMB_SUPER_MAGIC: case CODA_SUPER_MAGIC:
    case AFS_SUPER_MAGIC: case V9FS_MAGIC: case 0x65735546 /* fuse */:
    case 0xff534d42 /* cifs */: case 0xfe534d42 /* smb2 */:
    case 0x00c36400 /* ceph */: case 0x47504653 /* gpfs */:
    case 0x0bd00bd0 /* lustre */: case 0x6b414653 /* afs (kafs) */:
        return true;
    default:
        return false;
    }
}

/* Watch FILE for an entry about to be read from FD, whose fstat() was ST.
 * Returns the watch id (> 0); -1 when the entry must be checked on every
 * hit instead; RC_AGAIN when FILE no longer leads to that file (do not
 * cache it now). With the watches in place, the path is looked up again,
 * refusing symbolic links: it must still name the same, unchanged file,
 * so that every change from here on is reported. */
static int
file_cache_watch(const char *file, int fd, const struct stat *st)
{
    struct open_how how;
    struct stat now;
    long pfd;
    int id, ok;

    if (!FC.watching || file[0] == '\0' || file_cache_remote(fd))
        return -1;
    id = file_watch_add(file);
    if (id == RC_AGAIN) {
        /* every watch was removed to make room: so go the entries */
        FC.st.restarts++;
        file_cache_clear();
        id = file_watch_add(file);
    }
    if (id < 0)
        return -1;
    memset(&how, 0, sizeof(how));
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    pfd = syscall(SYS_openat2, FC.root_fd, file, &how, sizeof(how));
    if (pfd < 0)
        return errno == ELOOP || errno == ENOSYS ? -1 : RC_AGAIN;
    ok = fstat((int) pfd, &now) == 0 && S_ISREG(now.st_mode)
         && now.st_dev == st->st_dev && now.st_ino == st->st_ino
         && now.st_size == st->st_size
         && now.st_mtim.tv_sec == st->st_mtim.tv_sec
         && now.st_mtim.tv_nsec == st->st_mtim.tv_nsec;
    close((int) pfd);
    return ok ? id : RC_AGAIN;
}

const struct file_cache_entry *
file_cache_put(const char *key, unsigned enc, const char *file, int fd,
               const struct stat *st, const char *mime, const char *etag)
{
    size_t i = file_cache_hash(key, enc), size = (size_t) st->st_size, got = 0;
    struct file_cache_entry *e;
    int watch;

    if (!S_ISREG(st->st_mode) || size > FILE_CACHE_FILE_MAX
        || strlen(etag) >= FILE_CACHE_ETAG_MAX)
        return NULL;
    file_cache_drop(i);
    if (FC.st.bytes + size > FILE_CACHE_BYTES_MAX)
        return NULL;
    /* before the content is read: a write from here on is reported */
    watch = file_cache_watch(file, fd, st);
    if (watch == RC_AGAIN)
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
    e->watch = watch;
    e->checked_at = clock_now();
    e->nav = enc == 0 && strncmp(mime, "text/html", 9) == 0
             && memmem(e->body, size, SITE_NAV_OPEN, sizeof(SITE_NAV_OPEN) - 1)
                != NULL;
    strcpy(e->etag, etag);
    FC.slot[i] = e;
    FC.st.entries++;
    if (watch > 0)
        FC.st.watched++;
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
