// The build's stamp as C string literals from -D defines (Package.swift reads them from the environment `make`
// sets), so a plain `swift build` compiles too and only this file changes from one commit to the next.
#include "BuildStamp.h"

#ifndef BATCHCTL_BUILD_COMMIT
#define BATCHCTL_BUILD_COMMIT ""
#endif
#ifndef BATCHCTL_BUILD_DATE
#define BATCHCTL_BUILD_DATE ""
#endif
#ifndef BATCHCTL_BUILD_SWIFT_VERSION
#define BATCHCTL_BUILD_SWIFT_VERSION ""
#endif

const char *batchctl_build_commit(void) { return BATCHCTL_BUILD_COMMIT; }
const char *batchctl_build_date(void) { return BATCHCTL_BUILD_DATE; }
const char *batchctl_build_swift_version(void) { return BATCHCTL_BUILD_SWIFT_VERSION; }
