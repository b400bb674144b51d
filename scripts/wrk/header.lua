-- Adds the header in AUTHBENCH_WRK_HEADER ("Name: value") to every request.
local header = os.getenv("AUTHBENCH_WRK_HEADER")
if header and header ~= "" then
  local name, value = header:match("^([^:]+):%s*(.*)$")
  wrk.headers[name] = value
end
