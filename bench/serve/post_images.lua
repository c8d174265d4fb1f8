-- wrk script: POST real photos (one per request, round robin) to /v1/models/NAME/classify.
-- Usage: wrk -t1 -c16 -d20s --latency -s post_images.lua http://127.0.0.1:8000/v1/models/NAME/classify -- LIST
-- LIST: a file with one image path per line (.jpg/.jpeg/.png). Prints one "RESULT k=v ..." line.
local bodies, types = {}, {}
local idx = 0

function init(args)
    local list = args[1] or os.getenv("VITRT_IMAGE_LIST")
    for path in io.lines(list) do
        local f = assert(io.open(path, "rb"))
        bodies[#bodies + 1] = f:read("*a")
        f:close()
        types[#types + 1] = path:lower():match("%.png$") and "image/png" or "image/jpeg"
    end
    idx = math.random(#bodies)
end

function request()
    idx = idx % #bodies + 1
    return wrk.format("POST", nil, {["Content-Type"] = types[idx]}, bodies[idx])
end

function done(summary, latency, requests)
    local s = summary.duration / 1e6
    io.write(string.format(
        "RESULT requests=%d duration_s=%.2f rps=%.2f p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f max_ms=%.1f " ..
        "non2xx=%d connect_err=%d read_err=%d write_err=%d timeouts=%d\n",
        summary.requests, s, summary.requests / s, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
        latency:percentile(99) / 1000, latency.max / 1000, summary.errors.status, summary.errors.connect,
        summary.errors.read, summary.errors.write, summary.errors.timeout))
end
