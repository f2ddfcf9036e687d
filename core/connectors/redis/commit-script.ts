/**
 * The exactly-once commit of the Redis Streams sink: one Lua script, which Redis runs
 * atomically (no other command runs in between, and MULTI/EXEC would not do: it does not roll
 * back a failed command), appends a chunk of a batch's entries and records in the ledger how
 * far that writer's batches are written. A repeated commit of the same entries finds the
 * ledger past them and adds nothing.
 *
 * Ledger: a hash, one field per writer (the write-ahead sink's writer id: subtask, attempt and
 * a random part, so a fresh run of the job never mistakes its batches for an earlier run's),
 * value "SEQ:DONE": batch SEQ of that writer has its first DONE entries in the stream, and
 * every earlier batch is complete. Batches of one writer commit in seq order, so this one
 * pair is the whole ledger of that writer.
 *
 * KEYS[1] the stream, KEYS[2] the ledger hash.
 * ARGV[1] writer id, ARGV[2] batch seq, ARGV[3] offset of this chunk's first entry in the
 * batch, ARGV[4..] the entries, each as N followed by N strings (field, value, field, value…).
 *
 * Returns the number of entries appended (0 when all were there already). A chunk that would
 * leave a gap (an earlier chunk missing) is refused with an error before anything is written.
 */
export const COMMIT_SCRIPT = `
local seq = tonumber(ARGV[2])
local offset = tonumber(ARGV[3])
local doneSeq, doneOff = -1, 0
local done = redis.call('HGET', KEYS[2], ARGV[1])
if done then
  local s, o = string.match(done, '^(%d+):(%d+)$')
  doneSeq, doneOff = tonumber(s), tonumber(o)
end
local skip = 0
if seq < doneSeq then return 0 end
if seq == doneSeq then
  skip = doneOff - offset
  if skip < 0 then return redis.error_reply('eddy ledger gap: batch ' .. seq .. ' has ' .. doneOff .. ' entries, chunk starts at ' .. offset) end
elseif offset ~= 0 then
  return redis.error_reply('eddy ledger gap: batch ' .. seq .. ' chunk at ' .. offset .. ' before its first chunk')
end
local i, n, index, added = 4, #ARGV, 0, 0
while i <= n do
  local k = tonumber(ARGV[i])
  if index >= skip then
    redis.call('XADD', KEYS[1], '*', unpack(ARGV, i + 1, i + k))
    added = added + 1
  end
  index = index + 1
  i = i + k + 1
end
if seq > doneSeq or offset + index > doneOff then
  redis.call('HSET', KEYS[2], ARGV[1], seq .. ':' .. (offset + index))
end
return added
`;
