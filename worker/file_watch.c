/* file_watch.c - inotify watches for the file cache (see file_watch.h).
 * SPDX-License-Identifier: MIT */
#include "file_watch.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "defs.h"
#include "log.h"

/* a file: its content, attributes and links (a rename over it or an
 * unlink drops its link count: IN_ATTRIB), or the file itself moved */
#define FILE_WATCH_FILE_MASK (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE \
                              | IN_DELETE_SELF | IN_MOVE_SELF | IN_DONT_FOLLOW)
/* a directory: its entries (not their content) and itself */
#define FILE_WATCH_DIR_MASK (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO \
                             | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF \
                             | IN_ONLYDIR | IN_DONT_FOLLOW)

/* The live watch ids, as (id << 1 | is_dir) in an open-addressing table;
 * 0 is an empty slot (ids are > 0). Twice the entries it may hold. */
#define FILE_WATCH_SLOTS (2 * FILE_WATCH_MAX)

static struct {
    int       fd;               /* the inotify instance, or -1 */
    int       root_fd;
    unsigned  n;                /* live ids in the table */
    bool      full_logged;
    uint32_t *slot;
} FW = { -1, -1, 0, false, NULL };

static size_t
file_watch_slot(int id)
{
    size_t i = ((uint32_t) id * 2654435761u) % FILE_WATCH_SLOTS;

    while (FW.slot[i] != 0 && (int) (FW.slot[i] >> 1) != id)
        i = (i + 1) % FILE_WATCH_SLOTS;
    return i;
}

/* Is ID known, and as a directory (*dir)? */
static bool
file_watch_lookup(int id, bool *dir)
{
    uint32_t v = FW.slot[file_watch_slot(id)];

    if (v == 0)
        return false;
    *dir = (v & 1) != 0;
    return true;
}

static void
file_watch_remember(int id, bool dir)
{
    size_t i = file_watch_slot(id);

    if (FW.slot[i] == 0)
        FW.n++;
    FW.slot[i] = (uint32_t) id << 1 | (dir ? 1u : 0u);
}

/* Remove the entry for ID, keeping every other one reachable (backward
 * shift: later entries of the same run move into the hole). */
static void
file_watch_forget(int id)
{
    size_t i = file_watch_slot(id), j = i;

    if (FW.slot[i] == 0)
        return;
    FW.slot[i] = 0;
    FW.n--;
    for (;;) {
        size_t home;
        j = (j + 1) % FILE_WATCH_SLOTS;
        if (FW.slot[j] == 0)
            return;
        home = ((FW.slot[j] >> 1) * 2654435761u) % FILE_WATCH_SLOTS;
        /* move it back unless its home lies in (i, j] (cyclically) */
        if ((i < j) ? (home <= i || home > j) : (home <= i && home > j)) {
            FW.slot[i] = FW.slot[j];
            FW.slot[j] = 0;
            i = j;
        }
    }
}

int
file_watch_open(int root_fd)
{
    if (FW.fd >= 0)
        return RC_OK;
    FW.slot = calloc(FILE_WATCH_SLOTS, sizeof(*FW.slot));
    if (FW.slot == NULL)
        return RC_ERR;
    FW.fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (FW.fd < 0) {
        log_errno(LOG_NOTICE, errno, "inotify_init1() failed; cached files "
                  "are checked with fstatat() on every hit");
        free(FW.slot);
        FW.slot = NULL;
        return RC_ERR;
    }
    FW.root_fd = root_fd;
    FW.n = 0;
    return RC_OK;
}

/* Remove every watch; their IN_IGNORED events name ids no longer known,
 * and are skipped. */
static void
file_watch_remove_all(void)
{
    for (size_t i = 0; i < FILE_WATCH_SLOTS; i++) {
        if (FW.slot[i] != 0) {
            inotify_rm_watch(FW.fd, (int) (FW.slot[i] >> 1));
            FW.slot[i] = 0;
        }
    }
    FW.n = 0;
}

void
file_watch_close(void)
{
    if (FW.fd < 0)
        return;
    close(FW.fd);           /* removes the watches with it */
    FW.fd = -1;
    free(FW.slot);
    FW.slot = NULL;
    FW.n = 0;
}

int
file_watch_fd(void)
{
    return FW.fd;
}

/* inotify_add_watch() on PATH (below root; "" is root itself), through
 * root's descriptor: the directory the worker serves, wherever it is now. */
static int
file_watch_one(const char *path, size_t len, bool dir)
{
    char full[PATH_MAX];
    uint32_t mask = dir ? FILE_WATCH_DIR_MASK : FILE_WATCH_FILE_MASK;
    int n, id;

    n = snprintf(full, sizeof(full), "/proc/self/fd/%d%s%.*s", FW.root_fd,
                 len > 0 ? "/" : "", (int) len, path);
    if (n < 0 || (size_t) n >= sizeof(full))
        return RC_ERR;
    if (len == 0)
        mask &= ~(uint32_t) IN_DONT_FOLLOW;    /* root: the /proc link itself */
    id = inotify_add_watch(FW.fd, full, mask);
    if (id < 0) {
        if (errno == ENOSPC && !FW.full_logged) {
            FW.full_logged = true;
            log_msg(LOG_NOTICE, "the inotify watch limit "
                    "(fs.inotify.max_user_watches) is reached; cached files "
                    "beyond it are checked with fstatat() on every hit");
        }
        return RC_ERR;
    }
    file_watch_remember(id, dir);
    return id;
}

int
file_watch_add(const char *file)
{
    unsigned depth = 1;
    const char *p;

    if (FW.fd < 0)
        return RC_ERR;
    for (p = file; *p != '\0'; p++)
        depth += *p == '/';
    if (FW.n + depth + 1 > FILE_WATCH_MAX) {
        file_watch_remove_all();
        return RC_AGAIN;
    }
    /* root, then each directory on the way, then the file: each watch is
     * in place before the next name is looked up in it */
    if (file_watch_one("", 0, true) < 0)
        return RC_ERR;
    for (p = strchr(file, '/'); p != NULL; p = strchr(p + 1, '/')) {
        if (file_watch_one(file, (size_t) (p - file), true) < 0)
            return RC_ERR;
    }
    return file_watch_one(file, strlen(file), false);
}

void
file_watch_drain(void (*cb)(int id))
{
    /* aligned for struct inotify_event, as inotify(7) asks */
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool all = false;

    if (FW.fd < 0)
        return;
    for (;;) {
        ssize_t n = read(FW.fd, buf, sizeof(buf));
        const char *p;

        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && errno != EAGAIN)
                log_errno(LOG_ERR, errno, "read() from inotify failed");
            break;
        }
        for (p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *) p;
            bool dir = false;

            p += sizeof(*ev) + ev->len;
            if (ev->mask & IN_Q_OVERFLOW) {
                all = true;
                continue;
            }
            if (!file_watch_lookup(ev->wd, &dir))
                continue;       /* a watch removed by file_watch_remove_all() */
            if (ev->mask & IN_IGNORED)
                file_watch_forget(ev->wd);
            if (dir || ev->len > 0)
                all = true;     /* an entry of a directory on some path */
            else if (!all)
                cb(ev->wd);
        }
    }
    if (all)
        cb(FILE_WATCH_ALL);
}
