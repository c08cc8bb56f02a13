-- Build the per-key picture once, then count it.
CREATE TEMP TABLE keys AS
SELECT coalesce(s.txn_id, t.txn_id) AS txn_id, s.n AS src_n, t.n AS tgt_n,
       s.n = 1 AND t.n = 1 AS comparable,
       abs(s.amount - t.amount) > 0.01 OR s.currency <> t.currency
         OR s.status <> t.status OR s.booked_at <> t.booked_at AS differs
FROM (SELECT trim(txn_id) AS txn_id, count(*) AS n, any_value(amount) AS amount,
             any_value(upper(trim(currency))) AS currency, any_value(upper(trim(status))) AS status,
             any_value(CAST(booked_at AS TIMESTAMPTZ)) AS booked_at
      FROM source_txn WHERE trim(txn_id) <> '' GROUP BY trim(txn_id)) AS s
FULL JOIN (SELECT trim(txn_id) AS txn_id, count(*) AS n, any_value(amount) AS amount,
                  any_value(upper(trim(currency))) AS currency, any_value(upper(trim(status))) AS status,
                  any_value(CAST(booked_at AS TIMESTAMPTZ)) AS booked_at
           FROM target_txn WHERE trim(txn_id) <> '' GROUP BY trim(txn_id)) AS t
  ON s.txn_id = t.txn_id;

SELECT (SELECT count(*) FROM source_txn) AS source_rows,
       (SELECT count(*) FROM target_txn) AS target_rows,
       (SELECT count(*) FROM source_txn WHERE coalesce(trim(txn_id), '') = '')
         + (SELECT count(*) FROM target_txn WHERE coalesce(trim(txn_id), '') = '') AS unkeyed_rows,
       count(*) FILTER (WHERE tgt_n IS NULL) AS missing_in_target,
       count(*) FILTER (WHERE src_n IS NULL) AS orphans_in_target,
       count(*) FILTER (WHERE src_n > 1) + count(*) FILTER (WHERE tgt_n > 1) AS duplicate_keys,
       count(*) FILTER (WHERE comparable AND differs) AS mismatched_keys,
       count(*) FILTER (WHERE comparable AND NOT differs) AS reconciled_keys,
       CAST(round(100.0 * count(*) FILTER (WHERE comparable AND NOT differs) / count(src_n), 2)
            AS DECIMAL(5, 2)) AS reconciled_pct
FROM keys;
