/* test_chan.c - chan.h over a socketpair: fds cross, bad messages leak none.
 * SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "chan.h"
#include "defs.h"
#include "log.h"

/* Fixture: the two ends of one channel. */
struct pair {
    int master;     /* fds[0] */
    int worker;     /* fds[1] */
};

/* ---- Helpers ---- */

/* Open descriptors of this process (the DIR's own fd is always included,
 * so counts taken this way compare equal). */
static int
count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.')
            n++;
    }
    closedir(d);
    return n;
}

static bool
fd_is_open(int fd)
{
    return fcntl(fd, F_GETFD) >= 0;
}

/* A pipe whose read end does not block, so "EOF" and "a writer is still
 * open somewhere" are told apart without hanging. */
static void
make_pipe(int p[2])
{
    assert_int_equal(pipe(p), 0);
    assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);
}

/* True when every write end of the pipe read by RFD is closed. */
static bool
pipe_writers_gone(int rfd)
{
    char c;

    return read(rfd, &c, 1) == 0;
}

/* sendmsg() LEN raw bytes with NFDS descriptors, bypassing chan_send()'s
 * checks. Returns what sendmsg() returned. */
static ssize_t
raw_send(int fd, const void *data, size_t len, const int *fds, int nfds)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int) * (CHAN_MAX_FDS + 8))];
    } ctl;
    struct iovec iov = { (void *) data, len };
    struct msghdr mh;

    assert_true(nfds <= CHAN_MAX_FDS + 8);
    memset(&mh, 0, sizeof(mh));
    memset(&ctl, 0, sizeof(ctl));
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (nfds > 0) {
        struct cmsghdr *cm;
        mh.msg_control = ctl.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t) nfds);
        cm = CMSG_FIRSTHDR(&mh);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t) nfds);
        memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t) nfds);
    }
    return sendmsg(fd, &mh, MSG_NOSIGNAL);
}

static void
send_ok(int fd, uint32_t type, int32_t arg, const int *fds, int nfds)
{
    struct chan_msg m = { type, arg };

    assert_int_equal(chan_send(fd, &m, fds, nfds), RC_OK);
}

/* Receive one message and require RC_OK with TYPE, ARG and NFDS fds. */
static void
recv_ok(int fd, uint32_t type, int32_t arg, int *fds, int nfds)
{
    struct chan_msg m = { 0, 0 };
    int got = -1;

    assert_int_equal(chan_recv(fd, &m, fds, CHAN_MAX_FDS, &got), RC_OK);
    assert_int_equal(m.type, type);
    assert_int_equal(m.arg, arg);
    assert_int_equal(got, nfds);
}

static int
setup_pair(void **state)
{
    static struct pair p;
    int fds[2];

    if (chan_open(fds) != RC_OK)
        return -1;
    p.master = fds[0];
    p.worker = fds[1];
    *state = &p;
    return 0;
}

static int
teardown_pair(void **state)
{
    struct pair *p = *state;

    if (p->master >= 0)
        close(p->master);
    if (p->worker >= 0)
        close(p->worker);
    return 0;
}

/* ---- Opening ---- */

static void
test_chan_open_flags(void **state)
{
    struct pair *p = *state;
    int ends[2] = { p->master, p->worker };

    for (int i = 0; i < 2; i++) {
        int type = 0;
        socklen_t len = sizeof(type);
        assert_int_equal(getsockopt(ends[i], SOL_SOCKET, SO_TYPE, &type, &len),
                         0);
        assert_int_equal(type, SOCK_SEQPACKET);
        assert_true(fcntl(ends[i], F_GETFL) & O_NONBLOCK);
        assert_true(fcntl(ends[i], F_GETFD) & FD_CLOEXEC);
    }
}

/* ---- Messages that cross ---- */

/* The write end of a pipe crosses the channel; writing through the received
 * fd comes out of the pipe, and closing it leaves no writer behind. */
static void
test_chan_fd_crosses(void **state)
{
    struct pair *p = *state;
    int base = count_fds(), pp[2], fd = -1;
    char buf[16];

    make_pipe(pp);
    send_ok(p->master, CHAN_NEW_CONN, 1, &pp[1], 1);
    close(pp[1]);                               /* master drops its copy */
    recv_ok(p->worker, CHAN_NEW_CONN, 1, &fd, 1);
    assert_true(fd >= 0);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);

    assert_int_equal(write(fd, "hello", 5), 5);
    assert_int_equal(read(pp[0], buf, sizeof(buf)), 5);
    assert_memory_equal(buf, "hello", 5);
    close(fd);
    assert_true(pipe_writers_gone(pp[0]));
    close(pp[0]);
    assert_int_equal(count_fds(), base);
}

/* CHAN_MAX_FDS descriptors in one message arrive in order. */
static void
test_chan_many_fds_in_order(void **state)
{
    struct pair *p = *state;
    int base = count_fds(), pipes[CHAN_MAX_FDS][2];
    int wr[CHAN_MAX_FDS], got[CHAN_MAX_FDS];

    for (int i = 0; i < CHAN_MAX_FDS; i++) {
        make_pipe(pipes[i]);
        wr[i] = pipes[i][1];
    }
    send_ok(p->master, CHAN_NEW_CONN, CHAN_MAX_FDS, wr, CHAN_MAX_FDS);
    for (int i = 0; i < CHAN_MAX_FDS; i++)
        close(wr[i]);
    recv_ok(p->worker, CHAN_NEW_CONN, CHAN_MAX_FDS, got, CHAN_MAX_FDS);

    for (int i = 0; i < CHAN_MAX_FDS; i++) {
        char c = (char) ('A' + i), r = 0;
        assert_int_equal(write(got[i], &c, 1), 1);
        assert_int_equal(read(pipes[i][0], &r, 1), 1);
        assert_int_equal(r, c);
        close(got[i]);
        assert_true(pipe_writers_gone(pipes[i][0]));
        close(pipes[i][0]);
    }
    assert_int_equal(count_fds(), base);
}

/* Messages without fds, both directions, keep their order and argument. */
static void
test_chan_messages_without_fds(void **state)
{
    static const struct chan_msg msgs[] = {
        { CHAN_LOAD, 42 }, { CHAN_LOAD, 0 }, { CHAN_LOAD, -7 },
        { CHAN_QUIT, 0 }, { CHAN_TERMINATE, 0 }, { CHAN_REOPEN, 0 },
    };
    struct pair *p = *state;
    int base = count_fds(), fd = -1;

    for (size_t i = 0; i < ARRAY_SIZE(msgs); i++) {
        send_ok(p->worker, msgs[i].type, msgs[i].arg, NULL, 0);
        send_ok(p->master, msgs[i].type, msgs[i].arg, NULL, 0);
    }
    for (size_t i = 0; i < ARRAY_SIZE(msgs); i++) {
        recv_ok(p->master, msgs[i].type, msgs[i].arg, &fd, 0);
        recv_ok(p->worker, msgs[i].type, msgs[i].arg, &fd, 0);
    }
    assert_int_equal(count_fds(), base);
}

/* ---- Empty, closed, full ---- */

static void
test_chan_empty_is_again(void **state)
{
    struct pair *p = *state;
    struct chan_msg m;
    int fd = -1, n = -1;

    assert_int_equal(chan_recv(p->worker, &m, &fd, 1, &n), RC_AGAIN);
    assert_int_equal(n, 0);
    assert_int_equal(chan_recv(p->master, &m, &fd, 1, &n), RC_AGAIN);
}

/* Queued messages are still delivered after the peer closes; then EOF. */
static void
test_chan_eof_is_done(void **state)
{
    struct pair *p = *state;
    struct chan_msg m;
    int fd = -1, n = -1;

    send_ok(p->master, CHAN_QUIT, 0, NULL, 0);
    close(p->master);
    p->master = -1;
    recv_ok(p->worker, CHAN_QUIT, 0, &fd, 0);
    assert_int_equal(chan_recv(p->worker, &m, &fd, 1, &n), RC_DONE);
    assert_int_equal(n, 0);
    assert_int_equal(chan_recv(p->worker, &m, &fd, 1, &n), RC_DONE);
}

/* Sending to a closed peer fails (and does not raise SIGPIPE). */
static void
test_chan_send_to_closed_peer(void **state)
{
    struct pair *p = *state;
    struct chan_msg m = { CHAN_LOAD, 1 };

    close(p->worker);
    p->worker = -1;
    assert_int_equal(chan_send(p->master, &m, NULL, 0), RC_ERR);
}

static void
test_chan_send_bad_nfds(void **state)
{
    struct pair *p = *state;
    int fds[CHAN_MAX_FDS + 1], n = -1, fd;
    struct chan_msg m = { CHAN_NEW_CONN, 1 };

    for (int i = 0; i <= CHAN_MAX_FDS; i++)
        fds[i] = STDIN_FILENO;
    assert_int_equal(chan_send(p->master, &m, fds, -1), RC_ERR);
    m.arg = CHAN_MAX_FDS + 1;
    assert_int_equal(chan_send(p->master, &m, fds, CHAN_MAX_FDS + 1), RC_ERR);
    assert_int_equal(chan_recv(p->worker, &m, &fd, 1, &n), RC_AGAIN);
}

/* Fill the channel until chan_send() says RC_AGAIN; the fd of a refused
 * send stays the caller's; everything sent comes out in order. */
static void
test_chan_send_until_full(void **state)
{
    enum { LIMIT = 1000000 };
    struct pair *p = *state;
    struct chan_msg m;
    int base = count_fds(), pp[2], sent = 0, rc = RC_OK, n, fd;

    while (sent < LIMIT) {
        m.type = CHAN_LOAD;
        m.arg = sent;
        rc = chan_send(p->master, &m, NULL, 0);
        if (rc != RC_OK)
            break;
        sent++;
    }
    assert_int_equal(rc, RC_AGAIN);
    assert_true(sent > 0);

    make_pipe(pp);
    m.type = CHAN_NEW_CONN;
    m.arg = 1;
    assert_int_equal(chan_send(p->master, &m, &pp[1], 1), RC_AGAIN);
    assert_true(fd_is_open(pp[1]));

    for (int i = 0; i < sent; i++)
        recv_ok(p->worker, CHAN_LOAD, i, &fd, 0);
    assert_int_equal(chan_recv(p->worker, &m, &fd, 1, &n), RC_AGAIN);

    /* room again */
    send_ok(p->master, CHAN_NEW_CONN, 1, &pp[1], 1);
    close(pp[1]);
    recv_ok(p->worker, CHAN_NEW_CONN, 1, &fd, 1);
    close(fd);
    assert_true(pipe_writers_gone(pp[0]));
    close(pp[0]);
    assert_int_equal(count_fds(), base);
}

/* ---- Malformed messages ---- */

struct bad_case {
    int         line;
    const char *what;
    size_t      len;        /* bytes sent: sizeof(struct chan_msg) is valid */
    uint32_t    type;
    int32_t     arg;
    int         nfds;       /* pipes whose write ends travel along */
    int         maxfds;     /* receiver's room */
};

#define MSG_LEN sizeof(struct chan_msg)

static const struct bad_case bad_cases[] = {
    { __LINE__, "short, no fd", 4, CHAN_LOAD, 0, 0, CHAN_MAX_FDS },
    { __LINE__, "short, one fd", 4, CHAN_NEW_CONN, 1, 1, CHAN_MAX_FDS },
    { __LINE__, "long, one fd", MSG_LEN + 4, CHAN_NEW_CONN, 1, 1,
      CHAN_MAX_FDS },
    { __LINE__, "long, no fd", MSG_LEN + 100, CHAN_LOAD, 0, 0, CHAN_MAX_FDS },
    { __LINE__, "new_conn arg 2, one fd", MSG_LEN, CHAN_NEW_CONN, 2, 1,
      CHAN_MAX_FDS },
    { __LINE__, "new_conn arg 1, two fds", MSG_LEN, CHAN_NEW_CONN, 1, 2,
      CHAN_MAX_FDS },
    { __LINE__, "new_conn arg 0, no fd", MSG_LEN, CHAN_NEW_CONN, 0, 0,
      CHAN_MAX_FDS },
    { __LINE__, "new_conn arg 1, no fd", MSG_LEN, CHAN_NEW_CONN, 1, 0,
      CHAN_MAX_FDS },
    { __LINE__, "new_conn arg -1, one fd", MSG_LEN, CHAN_NEW_CONN, -1, 1,
      CHAN_MAX_FDS },
    { __LINE__, "new_conn, more fds than the receiver's room", MSG_LEN,
      CHAN_NEW_CONN, 3, 3, 2 },
    { __LINE__, "load with an fd", MSG_LEN, CHAN_LOAD, 1, 1, CHAN_MAX_FDS },
    { __LINE__, "quit with an fd", MSG_LEN, CHAN_QUIT, 0, 1, CHAN_MAX_FDS },
    { __LINE__, "terminate with fds", MSG_LEN, CHAN_TERMINATE, 2, 2,
      CHAN_MAX_FDS },
    { __LINE__, "type 0", MSG_LEN, 0, 0, 0, CHAN_MAX_FDS },
    { __LINE__, "type CHAN_TYPE_MAX", MSG_LEN, CHAN_TYPE_MAX, 0, 0,
      CHAN_MAX_FDS },
    { __LINE__, "unknown type with an fd", MSG_LEN, 99, 1, 1, CHAN_MAX_FDS },
    { __LINE__, "type 0xffffffff", MSG_LEN, 0xffffffffu, 0, 0, CHAN_MAX_FDS },
    { __LINE__, "CHAN_MAX_FDS + 1 fds (MSG_CTRUNC)", MSG_LEN, CHAN_NEW_CONN,
      CHAN_MAX_FDS + 1, CHAN_MAX_FDS + 1, CHAN_MAX_FDS },
    /* after truncation the fds that did arrive match arg: only the
     * MSG_CTRUNC check can tell */
    { __LINE__, "CHAN_MAX_FDS + 1 fds, arg CHAN_MAX_FDS (MSG_CTRUNC)", MSG_LEN,
      CHAN_NEW_CONN, CHAN_MAX_FDS, CHAN_MAX_FDS + 1, CHAN_MAX_FDS },
    { __LINE__, "CHAN_MAX_FDS + 8 fds (MSG_CTRUNC)", MSG_LEN, CHAN_NEW_CONN,
      CHAN_MAX_FDS + 8, CHAN_MAX_FDS + 8, CHAN_MAX_FDS },
};

/* Send case C raw, require RC_ERR with no fds handed out, every carried fd
 * closed in the receiver, no fd count change, and a channel still usable. */
static void
check_bad_case(const struct pair *p, const struct bad_case *c)
{
    char data[MSG_LEN + 100];
    struct chan_msg m = { c->type, c->arg };
    int pipes[CHAN_MAX_FDS + 8][2], wr[CHAN_MAX_FDS + 8], got[CHAN_MAX_FDS];
    int base = count_fds(), n = -1, rc, fd = -1;

    assert_true(c->len <= sizeof(data));
    memset(data, 0, sizeof(data));
    memcpy(data, &m, c->len < MSG_LEN ? c->len : MSG_LEN);
    for (int i = 0; i < c->nfds; i++) {
        make_pipe(pipes[i]);
        wr[i] = pipes[i][1];
    }
    if (raw_send(p->master, data, c->len, wr, c->nfds) != (ssize_t) c->len)
        fail_msg("case at line %d (%s): sendmsg: %s", c->line, c->what,
                 strerror(errno));
    for (int i = 0; i < c->nfds; i++)
        close(wr[i]);

    rc = chan_recv(p->worker, &m, got, c->maxfds, &n);
    if (rc != RC_ERR)
        fail_msg("case at line %d (%s): chan_recv returned %d, want RC_ERR",
                 c->line, c->what, rc);
    if (n != 0)
        fail_msg("case at line %d (%s): %d fds handed out", c->line, c->what,
                 n);
    for (int i = 0; i < c->nfds; i++) {
        if (!pipe_writers_gone(pipes[i][0]))
            fail_msg("case at line %d (%s): fd %d of %d still open in the "
                     "receiver", c->line, c->what, i, c->nfds);
        close(pipes[i][0]);
    }
    if (count_fds() != base)
        fail_msg("case at line %d (%s): %d fds before, %d after", c->line,
                 c->what, base, count_fds());

    /* the bad message is gone and the next good one comes through */
    send_ok(p->master, CHAN_LOAD, c->line, NULL, 0);
    recv_ok(p->worker, CHAN_LOAD, c->line, &fd, 0);
}

static void
test_chan_malformed_rejected_without_leaks(void **state)
{
    const struct pair *p = *state;

    for (size_t i = 0; i < ARRAY_SIZE(bad_cases); i++)
        check_bad_case(p, &bad_cases[i]);
}

/* A zero-length SEQPACKET message is not EOF: it carries no chan_msg, so it
 * is malformed, and an fd riding on it must be closed like any other. */
static void
test_chan_zero_length_message_with_fd(void **state)
{
    struct pair *p = *state;
    int base = count_fds(), pp[2], got[CHAN_MAX_FDS], n = -1, rc;
    struct chan_msg m;

    make_pipe(pp);
    assert_int_equal(raw_send(p->master, "", 0, &pp[1], 1), 0);
    close(pp[1]);
    rc = chan_recv(p->worker, &m, got, CHAN_MAX_FDS, &n);
    assert_int_equal(n, 0);
    if (!pipe_writers_gone(pp[0]))
        fail_msg("the fd of a zero-length message leaked (chan_recv "
                 "returned %d)", rc);
    assert_int_equal(rc, RC_ERR);
    close(pp[0]);
    assert_int_equal(count_fds(), base);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
#define T(f) cmocka_unit_test_setup_teardown(f, setup_pair, teardown_pair)
        T(test_chan_open_flags),
        T(test_chan_fd_crosses),
        T(test_chan_many_fds_in_order),
        T(test_chan_messages_without_fds),
        T(test_chan_empty_is_again),
        T(test_chan_eof_is_done),
        T(test_chan_send_to_closed_peer),
        T(test_chan_send_bad_nfds),
        T(test_chan_send_until_full),
        T(test_chan_malformed_rejected_without_leaks),
        T(test_chan_zero_length_message_with_fd),
#undef T
    };

    log_set_level(LOG_CRIT);    /* rejected messages log at ERR by design */
    return cmocka_run_group_tests_name("chan", tests, NULL, NULL);
}
