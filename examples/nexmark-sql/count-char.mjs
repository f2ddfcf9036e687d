// nexmark's CountChar UDF (com.github.nexmark.flink.udf.CountChar) in JavaScript: how many
// times the character c occurs in s; q14.sql loads it with CREATE FUNCTION.
/** count_char(s, c): occurrences of c in s (0 for NULL). */
export default function countChar(s, c) {
  if (s === null || c === null || c.length !== 1) return 0;
  // By indexOf, as the DataStream q14's countChar: a scan in native code, not a string per character.
  let n = 0;
  for (let i = s.indexOf(c); i >= 0; i = s.indexOf(c, i + 1)) n++;
  return n;
}
countChar.resultType = 'BIGINT';
