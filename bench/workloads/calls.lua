-- The Lua workload: the interpreter's C functions do the work (calls,
-- table accesses, string creation), many of them small.
local function fib(n)
  if n < 2 then return n end
  return fib(n - 1) + fib(n - 2)
end

local words = {}
for i = 1, 200000 do
  words[i] = tostring(i * 7919 % 100003)
end
table.sort(words)
local total = 0
for _, w in ipairs(words) do
  total = total + #w
end
print(fib(27), total)
