/* form_page.c - login and register pages shown again with a message (see
 * form_page.h). Worker only.
 * SPDX-License-Identifier: MIT */
#include "form_page.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "defs.h"
#include "http_response.h"
#include "http_util.h"
#include "txn.h"

#define FORM_PAGE_MAX  (16 * 1024)
/* the page, a message and a kept username, escaped */
#define FORM_PAGE_OUT  (FORM_PAGE_MAX + 2048)

static const char *const form_page_files[] = { "login.html", "register.html" };

static const char *const form_page_markers[] = {
    "<!--form-message-->", "<!--username-message-->", "<!--password-message-->",
};

static struct {
    char   *body;
    size_t  len;
} form_pages[2];

void
form_page_load(int root_fd)
{
    for (size_t i = 0; i < ARRAY_SIZE(form_pages); i++) {
        struct stat st;
        char *body;
        int fd = openat(root_fd, form_page_files[i],
                        O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

        if (fd < 0)
            continue;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0
            && st.st_size <= FORM_PAGE_MAX
            && (body = malloc((size_t) st.st_size + 1)) != NULL) {
            if (read(fd, body, (size_t) st.st_size) == st.st_size) {
                body[st.st_size] = '\0';
                form_pages[i].body = body;
                form_pages[i].len = (size_t) st.st_size;
            } else {
                free(body);
            }
        }
        close(fd);
    }
}

void
form_page_free(void)
{
    for (size_t i = 0; i < ARRAY_SIZE(form_pages); i++) {
        free(form_pages[i].body);
        form_pages[i].body = NULL;
    }
}

/* Append N bytes of S to OUT (room CAP, *LEN used). false when full. */
static bool
form_page_put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
    if (n > cap - *len)
        return false;
    memcpy(out + *len, s, n);
    *len += n;
    return true;
}

void
form_page_respond(struct txn *t, enum form_page page, int status,
                  enum form_page_field field, const char *message,
                  const char *user, const char *extra)
{
    static const char name_attr[] = "name=\"username\"";
    char esc[768], msg[832], val[6 * 64 + 16];
    const char *src = form_pages[page].body, *mark, *name, *cut[2], *put[2];
    size_t len = 0, at = 0;
    struct http_head h;
    char *out;

    mark = src != NULL ? strstr(src, form_page_markers[field]) : NULL;
    name = src != NULL ? strstr(src, name_attr) : NULL;
    if (mark == NULL || name == NULL
        || http_util_html_escape(message, strlen(message), esc,
                                 sizeof(esc)) < 0) {
        txn_respond_error(t, status, extra);
        return;
    }
    snprintf(msg, sizeof(msg), "<p class=\"message\" role=\"alert\">%s</p>",
             esc);
    val[0] = '\0';
    if (user != NULL && user[0] != '\0'
        && http_util_html_escape(user, strlen(user), esc, sizeof(esc)) >= 0)
        snprintf(val, sizeof(val), " value=\"%.*s\"", 6 * 64, esc);
    /* two insertions, in the order they come in the page */
    name += sizeof(name_attr) - 1;
    cut[0] = mark < name ? mark : name;
    cut[1] = mark < name ? name : mark;
    put[0] = mark < name ? msg : val;
    put[1] = mark < name ? val : msg;
    out = malloc(FORM_PAGE_OUT);
    if (out == NULL) {
        txn_respond_error(t, status, extra);
        return;
    }
    /* FORM_PAGE_OUT holds the largest page, message and value: the puts
     * cannot run out of room */
    for (int i = 0; i < 2; i++) {
        size_t upto = (size_t) (cut[i] - src);
        form_page_put(out, FORM_PAGE_OUT, &len, src + at, upto - at);
        form_page_put(out, FORM_PAGE_OUT, &len, put[i], strlen(put[i]));
        at = upto;
    }
    form_page_put(out, FORM_PAGE_OUT, &len, src + at, form_pages[page].len - at);
    memset(&h, 0, sizeof(h));
    h.status = status;
    h.content_type = "text/html; charset=utf-8";
    h.extra = extra;
    txn_respond_body(t, &h, out, len);
    free(out);
}
