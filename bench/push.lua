-- wrk script for bench/run.sh push (WRK=1): every request pushes one new FreeSWITCH
-- mod_json_cdr A-leg to the source in the environment (PUSH_PATH, PUSH_SECRET); a
-- response without "accepted":1 counts as a failure.
counter = 0
failures = 0
local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

function init(args)
   wrk.method = "POST"
   wrk.path = os.getenv("PUSH_PATH")
   wrk.headers["Authorization"] = "Bearer " .. os.getenv("PUSH_SECRET")
   wrk.headers["Content-Type"] = "application/json"
end

function request()
   counter = counter + 1
   local epoch = 1764547200 + (counter * 7919 + id * 1000003) % (27 * 86400)
   local body = string.format(
      '{"variables":{"uuid":"wrk-%d-%d","accountcode":"BENCH","start_epoch":"%d",' ..
      '"answer_epoch":"%d","billsec":"%d","hangup_cause":"NORMAL_CLEARING",' ..
      '"sip_gateway_name":"BENCHTRUNK"},"callflow":[{"caller_profile":' ..
      '{"caller_id_number":"%d","destination_number":"0034%09d"}}]}',
      id, counter, epoch, epoch + 5, 1 + counter % 900, 200 + counter % 50,
      (counter * 104729) % 1000000000)
   return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
   if status ~= 200 or not string.find(body, '"accepted":1', 1, true) then
      failures = failures + 1
   end
end

function done(summary, latency, requests)
   local failed = 0
   for _, t in ipairs(threads) do failed = failed + (t:get("failures") or 0) end
   io.write(string.format(
      'JSON {"records": %d, "failures": %d, "per_second": %.0f, "p50_ms": %.1f, "p99_ms": %.1f}\n',
      summary.requests, failed, summary.requests / (summary.duration / 1e6),
      latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
