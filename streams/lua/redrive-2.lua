--[[
  Re-drive one dead letter to the stream it came from, at most once: check the dead
  letter is still there, append its original fields to the source stream, delete it,
  all in one step, so a repeated or concurrent retry of the same ID does nothing.

  KEYS[1] the dead-letter stream
  KEYS[2] the source stream
  ARGV[1] the dead letter's entry ID
  ARGV[2..] the original fields (name, value, …)

  Returns the new entry's ID, or nil when the dead letter is gone (already retried or
  purged): nothing is added.
]]
if #redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1]) == 0 then return false end
local id = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
redis.call('XDEL', KEYS[1], ARGV[1])
return id
