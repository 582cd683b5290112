-- wrk script shared by scale.sh and load.sh: GET /range/PREFIX for each line of the file named
-- by LEAKDEX_PREFIXES, in turn.
local prefixes = {}
for line in io.lines(os.getenv("LEAKDEX_PREFIXES")) do prefixes[#prefixes + 1] = line end
local i = 0
request = function()
  i = i % #prefixes + 1
  return wrk.format("GET", "/range/" .. prefixes[i])
end
