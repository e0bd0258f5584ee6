// SPDX-License-Identifier: GPL-2.0
/*
 * refpool: the tracepoints' definitions (see trace.h).
 *
 * Copyright (C) 2026 The refpool authors
 */
#define CREATE_TRACE_POINTS
#include "trace.h"
