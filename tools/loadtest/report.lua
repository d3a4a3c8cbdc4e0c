-- report.lua - wrk script used by tools/loadtest.sh: prints one machine-
-- readable line with exact counts, so the shell never parses wrk's rounded,
-- unit-suffixed summary ("1.23GB", "4.56ms"). Defines only done(), so wrk
-- keeps its fast path (a static request, no Lua per request or response).
-- Latencies are in microseconds; "status" counts responses >= 400.
-- SPDX-License-Identifier: MIT

done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "LOADTEST requests=%.0f bytes=%.0f duration_us=%.0f connect=%.0f " ..
        "read=%.0f write=%.0f status=%.0f timeout=%.0f p50_us=%.0f " ..
        "p99_us=%.0f\n",
        summary.requests, summary.bytes, summary.duration, e.connect,
        e.read, e.write, e.status, e.timeout,
        latency:percentile(50), latency:percentile(99)))
end
