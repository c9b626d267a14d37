// libcurl through dlopen: the few entry points batchctl needs, with libcurl's option numbers written out
// (no curl headers are needed to build).
#include "CCurl.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef void CURL;
struct curl_slist;

/* Option numbers from curl.h (stable across libcurl 7 and 8). */
enum {
    OPT_WRITEDATA = 10001, OPT_URL = 10002, OPT_READDATA = 10009, OPT_ERRORBUFFER = 10010,
    OPT_WRITEFUNCTION = 20011, OPT_READFUNCTION = 20012, OPT_POSTFIELDS = 10015, OPT_LOW_SPEED_LIMIT = 19,
    OPT_LOW_SPEED_TIME = 20, OPT_HTTPHEADER = 10023, OPT_HEADERDATA = 10029, OPT_CUSTOMREQUEST = 10036,
    OPT_NOPROGRESS = 43, OPT_UPLOAD = 46, OPT_HTTPGET = 80, OPT_NOSIGNAL = 99, OPT_HEADERFUNCTION = 20079,
    OPT_INFILESIZE_LARGE = 30115, OPT_POSTFIELDSIZE_LARGE = 30120, OPT_TIMEOUT_MS = 155,
    OPT_CONNECTTIMEOUT_MS = 156, OPT_XFERINFODATA = 10057, OPT_XFERINFOFUNCTION = 20219,
    INFO_RESPONSE_CODE = 0x200002, CODE_OPERATION_TIMEDOUT = 28, GLOBAL_ALL = 3,
};

static struct {
    int loaded;
    char why[256];
    int (*global_init)(long);
    CURL *(*easy_init)(void);
    int (*easy_setopt)(CURL *, int, ...);
    int (*easy_perform)(CURL *);
    int (*easy_getinfo)(CURL *, int, ...);
    void (*easy_cleanup)(CURL *);
    const char *(*easy_strerror)(int);
    struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
    void (*slist_free_all)(struct curl_slist *);
} lib;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;

static void load(void) {
    const char *names[] = {"libcurl.so.4", "libcurl-gnutls.so.4", "libcurl.so"};
    void *handle = NULL;
    for (size_t i = 0; i < sizeof names / sizeof *names && !handle; i++) handle = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        snprintf(lib.why, sizeof lib.why, "https:// needs libcurl (Debian package libcurl4): %s", dlerror());
        return;
    }
#define SYM(field, name) if (!(*(void **)&lib.field = dlsym(handle, name))) { \
        snprintf(lib.why, sizeof lib.why, "libcurl lacks %s", name); return; }
    SYM(global_init, "curl_global_init")
    SYM(easy_init, "curl_easy_init")
    SYM(easy_setopt, "curl_easy_setopt")
    SYM(easy_perform, "curl_easy_perform")
    SYM(easy_getinfo, "curl_easy_getinfo")
    SYM(easy_cleanup, "curl_easy_cleanup")
    SYM(easy_strerror, "curl_easy_strerror")
    SYM(slist_append, "curl_slist_append")
    SYM(slist_free_all, "curl_slist_free_all")
#undef SYM
    if (lib.global_init(GLOBAL_ALL) != 0) { snprintf(lib.why, sizeof lib.why, "curl_global_init failed"); return; }
    lib.loaded = 1;
}

int ccurl_available(char *why, size_t why_len) {
    pthread_once(&load_once, load);
    if (!lib.loaded && why && why_len) snprintf(why, why_len, "%s", lib.why);
    return lib.loaded;
}

typedef struct {
    CURL *curl;
    int sink_fd;
    size_t max_body;
    char *body; size_t body_len, body_cap;
    char *headers; size_t headers_len, headers_cap;
    long long received;
    int too_large, write_failed;
    FILE *upload;
    ccurl_progress_fn progress; void *context;
} transfer;

static int append(char **buf, size_t *len, size_t *cap, const char *data, size_t n) {
    if (*len + n + 1 > *cap) {
        size_t want = (*cap ? *cap * 2 : 4096);
        while (want < *len + n + 1) want *= 2;
        char *grown = realloc(*buf, want);
        if (!grown) return 0;
        *buf = grown; *cap = want;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = 0;
    return 1;
}

static size_t on_header(char *data, size_t size, size_t count, void *user) {
    transfer *t = user;
    size_t n = size * count;
    if (t->headers_len + n > 256 * 1024) return 0;
    return append(&t->headers, &t->headers_len, &t->headers_cap, data, n) ? n : 0;
}

static size_t on_body(char *data, size_t size, size_t count, void *user) {
    transfer *t = user;
    size_t n = size * count;
    long status = 0;
    lib.easy_getinfo(t->curl, INFO_RESPONSE_CODE, &status);
    if (t->sink_fd >= 0 && status >= 200 && status < 300) {
        size_t done = 0;
        while (done < n) {
            ssize_t w = write(t->sink_fd, data + done, n - done);
            if (w < 0) { if (errno == EINTR) continue; t->write_failed = errno; return 0; }
            done += (size_t)w;
        }
        t->received += (long long)n;
        return n;
    }
    if (t->body_len + n > t->max_body) { t->too_large = 1; return 0; }
    return append(&t->body, &t->body_len, &t->body_cap, data, n) ? n : 0;
}

static size_t on_read(char *buffer, size_t size, size_t count, void *user) {
    transfer *t = user;
    return fread(buffer, 1, size * count, t->upload);
}

static int on_progress(void *user, long long dltotal, long long dlnow, long long ultotal, long long ulnow) {
    transfer *t = user;
    if (t->progress) {
        if (ultotal > 0) t->progress(t->context, ulnow, ultotal);
        else if (dlnow > 0) t->progress(t->context, dlnow, dltotal > 0 ? dltotal : -1);
    }
    return 0;
}

int ccurl_perform(const char *method, const char *url, const char *const *headers, int header_count,
                  const void *body, size_t body_len, const char *upload_path, long long upload_size,
                  int sink_fd, size_t max_body, double stall_seconds, double total_seconds,
                  ccurl_progress_fn progress, void *context, ccurl_result *out) {
    memset(out, 0, sizeof *out);
    if (!ccurl_available(out->error, sizeof out->error)) { out->curl_code = -1; return -1; }
    transfer t = {0};
    t.sink_fd = sink_fd;
    t.max_body = max_body;
    t.progress = progress;
    t.context = context;
    t.curl = lib.easy_init();
    if (!t.curl) { snprintf(out->error, sizeof out->error, "curl_easy_init failed"); out->curl_code = -1; return -1; }
    char errbuf[256] = {0};
    struct curl_slist *list = NULL;
    for (int i = 0; i < header_count; i++) list = lib.slist_append(list, headers[i]);
    /* libcurl adds "Expect: 100-continue" to large uploads; our gateway handles it, others may not need it. */
    list = lib.slist_append(list, "Expect:");
    lib.easy_setopt(t.curl, OPT_URL, url);
    lib.easy_setopt(t.curl, OPT_NOSIGNAL, 1L);
    lib.easy_setopt(t.curl, OPT_ERRORBUFFER, errbuf);
    lib.easy_setopt(t.curl, OPT_HTTPHEADER, list);
    lib.easy_setopt(t.curl, OPT_HEADERFUNCTION, on_header);
    lib.easy_setopt(t.curl, OPT_HEADERDATA, &t);
    lib.easy_setopt(t.curl, OPT_WRITEFUNCTION, on_body);
    lib.easy_setopt(t.curl, OPT_WRITEDATA, &t);
    lib.easy_setopt(t.curl, OPT_CONNECTTIMEOUT_MS, (long)(stall_seconds * 1000));
    lib.easy_setopt(t.curl, OPT_LOW_SPEED_LIMIT, 1L);
    lib.easy_setopt(t.curl, OPT_LOW_SPEED_TIME, (long)(stall_seconds < 1 ? 1 : stall_seconds));
    if (total_seconds > 0) lib.easy_setopt(t.curl, OPT_TIMEOUT_MS, (long)(total_seconds * 1000));
    if (progress) {
        lib.easy_setopt(t.curl, OPT_XFERINFOFUNCTION, on_progress);
        lib.easy_setopt(t.curl, OPT_XFERINFODATA, &t);
        lib.easy_setopt(t.curl, OPT_NOPROGRESS, 0L);
    }
    if (upload_path) {
        t.upload = fopen(upload_path, "rb");
        if (!t.upload) {
            snprintf(out->error, sizeof out->error, "cannot read %s: %s", upload_path, strerror(errno));
            lib.slist_free_all(list); lib.easy_cleanup(t.curl); out->curl_code = -1; return -1;
        }
        lib.easy_setopt(t.curl, OPT_UPLOAD, 1L);
        lib.easy_setopt(t.curl, OPT_READFUNCTION, on_read);
        lib.easy_setopt(t.curl, OPT_READDATA, &t);
        lib.easy_setopt(t.curl, OPT_INFILESIZE_LARGE, (long long)upload_size);
        if (strcmp(method, "PUT") != 0) lib.easy_setopt(t.curl, OPT_CUSTOMREQUEST, method);
    } else if (body) {
        lib.easy_setopt(t.curl, OPT_POSTFIELDSIZE_LARGE, (long long)body_len);
        lib.easy_setopt(t.curl, OPT_POSTFIELDS, body);
        if (strcmp(method, "POST") != 0) lib.easy_setopt(t.curl, OPT_CUSTOMREQUEST, method);
    } else if (strcmp(method, "GET") == 0) {
        lib.easy_setopt(t.curl, OPT_HTTPGET, 1L);
    } else {
        lib.easy_setopt(t.curl, OPT_CUSTOMREQUEST, method);
    }
    int code = lib.easy_perform(t.curl);
    lib.easy_getinfo(t.curl, INFO_RESPONSE_CODE, &out->status);
    out->curl_code = code;
    out->timed_out = code == CODE_OPERATION_TIMEDOUT;
    out->headers = t.headers; out->headers_len = t.headers_len;
    out->body = t.body; out->body_len = t.body_len;
    out->received = t.received;
    if (t.too_large) snprintf(out->error, sizeof out->error, "the answer is larger than %zu bytes", max_body);
    else if (t.write_failed) snprintf(out->error, sizeof out->error, "cannot write the download: %s", strerror(t.write_failed));
    else if (code != 0) snprintf(out->error, sizeof out->error, "%s", errbuf[0] ? errbuf : lib.easy_strerror(code));
    if (t.upload) fclose(t.upload);
    lib.slist_free_all(list);
    lib.easy_cleanup(t.curl);
    return code == 0 ? 0 : -1;
}

void ccurl_result_free(ccurl_result *result) {
    free(result->headers);
    free(result->body);
    result->headers = NULL;
    result->body = NULL;
}
