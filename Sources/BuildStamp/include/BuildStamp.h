// The build's stamp, set by `make` through Package.swift: each is "" when the build did not know it.
#ifndef BATCHCTL_BUILD_STAMP_H
#define BATCHCTL_BUILD_STAMP_H

/// The git commit the binary was built from (12 hex digits, "-dirty" with uncommitted changes), or "".
const char *batchctl_build_commit(void);
/// The build date, YYYY-MM-DD (from SOURCE_DATE_EPOCH when set), or "".
const char *batchctl_build_date(void);
/// The Swift version of the compiler that built it, as `swift --version` says (6.3.1), or "".
const char *batchctl_build_swift_version(void);

#endif
