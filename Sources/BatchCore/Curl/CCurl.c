// libcurl through dlopen: the few entry points batchctl needs, with libcurl's option numbers written out
// (no curl headers are needed to build). Failures are sorted into ccurl_error_kind here, from the CURLcode.
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

/* Option and info numbers from curl.h (stable across libcurl 7 and 8). */
enum {
    OPT_WRITEDATA = 10001, OPT_URL = 10002, OPT_PROXY = 10004, OPT_READDATA = 10009, OPT_ERRORBUFFER = 10010,
    OPT_WRITEFUNCTION = 20011, OPT_READFUNCTION = 20012, OPT_USERAGENT = 10018, OPT_LOW_SPEED_LIMIT = 19,
    OPT_LOW_SPEED_TIME = 20, OPT_HTTPHEADER = 10023, OPT_HEADERDATA = 10029, OPT_CUSTOMREQUEST = 10036,
    OPT_NOPROGRESS = 43, OPT_NOBODY = 44, OPT_UPLOAD = 46, OPT_POST = 47, OPT_FOLLOWLOCATION = 52,
    OPT_CAINFO = 10065, OPT_HTTPGET = 80, OPT_CAPATH = 10097, OPT_NOSIGNAL = 99, OPT_HEADERFUNCTION = 20079,
    OPT_INFILESIZE_LARGE = 30115, OPT_POSTFIELDSIZE_LARGE = 30120, OPT_TIMEOUT_MS = 155,
    OPT_CONNECTTIMEOUT_MS = 156, OPT_XFERINFODATA = 10057, OPT_NOPROXY = 10177, OPT_XFERINFOFUNCTION = 20219,
    INFO_RESPONSE_CODE = 0x200002, INFO_CONNECT_TIME = 0x300005, GLOBAL_ALL = 3,
};

/* CURLcodes sorted below. */
enum {
    E_UNSUPPORTED_PROTOCOL = 1, E_URL_MALFORMAT = 3, E_COULDNT_RESOLVE_PROXY = 5, E_COULDNT_RESOLVE_HOST = 6,
    E_COULDNT_CONNECT = 7, E_PARTIAL_FILE = 18, E_WRITE_ERROR = 23, E_READ_ERROR = 26, E_OPERATION_TIMEDOUT = 28,
    E_SSL_CONNECT_ERROR = 35, E_ABORTED_BY_CALLBACK = 42, E_PEER_FAILED_VERIFICATION_OLD = 51, E_GOT_NOTHING = 52,
    E_SEND_ERROR = 55, E_RECV_ERROR = 56, E_SSL_CERTPROBLEM = 58, E_SSL_CIPHER = 59, E_PEER_FAILED_VERIFICATION = 60,
    E_SSL_CACERT_BADFILE = 77, E_SSL_SHUTDOWN_FAILED = 80, E_SSL_CRL_BADFILE = 82, E_SSL_ISSUER_ERROR = 83,
    E_HTTP2 = 16, E_HTTP2_STREAM = 92, E_SSL_PINNEDPUBKEYNOTMATCH = 90, E_SSL_INVALIDCERTSTATUS = 91,
};

static struct {
    int loaded;
    char why[256];
    int (*global_init)(long);
    CURL *(*easy_init)(void);
    void (*easy_reset)(CURL *);
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
    SYM(easy_reset, "curl_easy_reset")
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

struct ccurl_session { CURL *curl; };

ccurl_session *ccurl_session_new(void) {
    if (!ccurl_available(NULL, 0)) return NULL;
    ccurl_session *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->curl = lib.easy_init();
    if (!s->curl) { free(s); return NULL; }
    return s;
}

void ccurl_session_free(ccurl_session *session) {
    if (!session) return;
    lib.easy_cleanup(session->curl);
    free(session);
}

typedef struct {
    CURL *curl;
    int sink_fd;
    size_t max_body;
    char *body; size_t body_len, body_cap;
    char *headers; size_t headers_len, headers_cap;
    long long received;
    int too_large, write_failed, read_failed;
    /* the request body, read part by part */
    const ccurl_part *parts; int part_count, part; long long offset; FILE *file;
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

/* Reads the next bytes of the request body from its parts; 0 at the end. */
static size_t on_read(char *buffer, size_t size, size_t count, void *user) {
    transfer *t = user;
    size_t want = size * count;
    while (t->part < t->part_count) {
        const ccurl_part *p = &t->parts[t->part];
        long long left = p->length - t->offset;
        if (left <= 0) {
            if (t->file) { fclose(t->file); t->file = NULL; }
            t->part++; t->offset = 0;
            continue;
        }
        size_t n = want < (size_t)left ? want : (size_t)left;
        if (p->path) {
            if (!t->file && !(t->file = fopen(p->path, "rb"))) { t->read_failed = errno ? errno : EIO; return 0x10000000; }
            size_t got = fread(buffer, 1, n, t->file);
            if (got == 0) { t->read_failed = ferror(t->file) ? EIO : ENODATA; return 0x10000000; /* CURL_READFUNC_ABORT */ }
            n = got;
        } else {
            memcpy(buffer, (const char *)p->bytes + t->offset, n);
        }
        t->offset += (long long)n;
        return n;
    }
    return 0;
}

static int on_progress(void *user, long long dltotal, long long dlnow, long long ultotal, long long ulnow) {
    transfer *t = user;
    if (t->progress) {
        if (ultotal > 0) t->progress(t->context, ulnow, ultotal);
        else if (dlnow > 0) t->progress(t->context, dlnow, dltotal > 0 ? dltotal : -1);
    }
    return 0;
}

static ccurl_error_kind sort_code(int code, const transfer *t) {
    switch (code) {
    case 0: return CCURL_OK;
    case E_COULDNT_RESOLVE_PROXY: case E_COULDNT_RESOLVE_HOST: return CCURL_RESOLVE;
    case E_COULDNT_CONNECT: return CCURL_CONNECT;
    case E_OPERATION_TIMEDOUT: return CCURL_TIMEOUT;
    case E_PEER_FAILED_VERIFICATION: case E_PEER_FAILED_VERIFICATION_OLD: case E_SSL_CACERT_BADFILE:
    case E_SSL_ISSUER_ERROR: case E_SSL_PINNEDPUBKEYNOTMATCH: case E_SSL_INVALIDCERTSTATUS: case E_SSL_CRL_BADFILE:
    case E_SSL_CERTPROBLEM:
        return CCURL_TLS_CERTIFICATE;
    case E_SSL_CONNECT_ERROR: case E_SSL_CIPHER: return CCURL_TLS;
    case E_SEND_ERROR: return CCURL_SEND;
    case E_RECV_ERROR: case E_GOT_NOTHING: case E_PARTIAL_FILE: case E_SSL_SHUTDOWN_FAILED: case E_HTTP2:
    case E_HTTP2_STREAM:
        return CCURL_RECEIVE;
    case E_WRITE_ERROR:
        if (t->too_large) return CCURL_TOO_LARGE;
        if (t->write_failed) return CCURL_SINK_WRITE;
        return CCURL_RECEIVE;
    case E_READ_ERROR: case E_ABORTED_BY_CALLBACK:
        return t->read_failed ? CCURL_UPLOAD_READ : CCURL_OTHER;
    case E_UNSUPPORTED_PROTOCOL: case E_URL_MALFORMAT: return CCURL_MALFORMED;
    default: return CCURL_OTHER;
    }
}

static long ms(double seconds) {
    if (!(seconds > 0)) return 0;
    if (seconds > 2000000.0) seconds = 2000000.0;  /* about 23 days: libcurl takes a long of milliseconds */
    long v = (long)(seconds * 1000);
    return v < 1 ? 1 : v;
}

int ccurl_perform(ccurl_session *session, const ccurl_request *r, ccurl_result *out) {
    memset(out, 0, sizeof *out);
    if (!ccurl_available(out->error, sizeof out->error)) { out->kind = CCURL_UNAVAILABLE; out->curl_code = -1; return -1; }
    if (!session) { out->kind = CCURL_OTHER; snprintf(out->error, sizeof out->error, "curl_easy_init failed"); return -1; }
    CURL *curl = session->curl;
    lib.easy_reset(curl);
    transfer t = {0};
    t.curl = curl;
    t.sink_fd = r->sink_fd;
    t.max_body = r->max_body;
    t.progress = r->progress;
    t.context = r->context;
    t.parts = r->parts;
    t.part_count = r->part_count;
    char errbuf[256] = {0};
    struct curl_slist *list = NULL;
    for (int i = 0; i < r->header_count; i++) list = lib.slist_append(list, r->headers[i]);
    /* libcurl would add "Expect: 100-continue" to large bodies; the answer to an upload is awaited anyway. */
    list = lib.slist_append(list, "Expect:");
    lib.easy_setopt(curl, OPT_URL, r->url);
    lib.easy_setopt(curl, OPT_NOSIGNAL, 1L);
    lib.easy_setopt(curl, OPT_FOLLOWLOCATION, 0L);  /* redirects are followed above, the same on every path */
    lib.easy_setopt(curl, OPT_ERRORBUFFER, errbuf);
    lib.easy_setopt(curl, OPT_HTTPHEADER, list);
    lib.easy_setopt(curl, OPT_HEADERFUNCTION, on_header);
    lib.easy_setopt(curl, OPT_HEADERDATA, &t);
    lib.easy_setopt(curl, OPT_WRITEFUNCTION, on_body);
    lib.easy_setopt(curl, OPT_WRITEDATA, &t);
    if (r->user_agent) lib.easy_setopt(curl, OPT_USERAGENT, r->user_agent);
    /* The proxy is chosen above (HTTPS_PROXY, NO_PROXY ...); "" turns libcurl's own environment lookup off. */
    lib.easy_setopt(curl, OPT_PROXY, r->proxy ? r->proxy : "");
    if (r->ca_file) lib.easy_setopt(curl, OPT_CAINFO, r->ca_file);
    if (r->ca_path) lib.easy_setopt(curl, OPT_CAPATH, r->ca_path);
    lib.easy_setopt(curl, OPT_CONNECTTIMEOUT_MS, ms(r->connect_timeout));
    double stall = r->stall_timeout < 1 ? 1 : r->stall_timeout;
    if (stall > 2000000.0) stall = 2000000.0;
    lib.easy_setopt(curl, OPT_LOW_SPEED_LIMIT, 1L);
    lib.easy_setopt(curl, OPT_LOW_SPEED_TIME, (long)stall);
    /* LOW_SPEED_TIME counts whole seconds; below one second the total deadline is what bounds a stall. */
    if (r->total_timeout > 0) lib.easy_setopt(curl, OPT_TIMEOUT_MS, ms(r->total_timeout));
    if (r->progress) {
        lib.easy_setopt(curl, OPT_XFERINFOFUNCTION, on_progress);
        lib.easy_setopt(curl, OPT_XFERINFODATA, &t);
        lib.easy_setopt(curl, OPT_NOPROGRESS, 0L);
    }
    long long body_length = 0;
    for (int i = 0; i < r->part_count; i++) body_length += r->parts[i].length;
    if (r->has_body) {
        lib.easy_setopt(curl, OPT_READFUNCTION, on_read);
        lib.easy_setopt(curl, OPT_READDATA, &t);
        if (strcmp(r->method, "PUT") == 0) {
            lib.easy_setopt(curl, OPT_UPLOAD, 1L);
            lib.easy_setopt(curl, OPT_INFILESIZE_LARGE, body_length);
        } else {
            lib.easy_setopt(curl, OPT_POST, 1L);
            lib.easy_setopt(curl, OPT_POSTFIELDSIZE_LARGE, body_length);
            if (strcmp(r->method, "POST") != 0) lib.easy_setopt(curl, OPT_CUSTOMREQUEST, r->method);
        }
    } else if (strcmp(r->method, "GET") == 0) {
        lib.easy_setopt(curl, OPT_HTTPGET, 1L);
    } else if (strcmp(r->method, "HEAD") == 0) {
        lib.easy_setopt(curl, OPT_NOBODY, 1L);
    } else {
        lib.easy_setopt(curl, OPT_CUSTOMREQUEST, r->method);
    }
    int code = lib.easy_perform(curl);
    lib.easy_getinfo(curl, INFO_RESPONSE_CODE, &out->status);
    double connect_time = 0;
    lib.easy_getinfo(curl, INFO_CONNECT_TIME, &connect_time);
    out->connected = connect_time > 0 || out->status != 0;
    out->curl_code = code;
    out->kind = sort_code(code, &t);
    out->sink_errno = t.write_failed ? t.write_failed : t.read_failed;
    out->headers = t.headers; out->headers_len = t.headers_len;
    out->body = t.body; out->body_len = t.body_len;
    out->received = t.received;
    if (code != 0) snprintf(out->error, sizeof out->error, "%s", errbuf[0] ? errbuf : lib.easy_strerror(code));
    if (t.file) fclose(t.file);
    lib.slist_free_all(list);
    /* The options point at this call's memory: clear them so the kept handle holds nothing stale. */
    lib.easy_reset(curl);
    return code == 0 ? 0 : -1;
}

void ccurl_result_free(ccurl_result *result) {
    free(result->headers);
    free(result->body);
    result->headers = NULL;
    result->body = NULL;
}
