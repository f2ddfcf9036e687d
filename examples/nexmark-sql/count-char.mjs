// nexmark's CountChar UDF (com.github.nexmark.flink.udf.CountChar) in JavaScript: how many
// times the character c occurs in s; q14.sql loads it with CREATE FUNCTION.
/** count_char(s, c): occurrences of c in s (0 for NULL). */
export default function countChar(s, c) {
  if (s === null || c === null) return 0;
  let n = 0;
  for (let i = 0; i < s.length; i++) if (s[i] === c) n++;
  return n;
}
countChar.resultType = 'BIGINT';
