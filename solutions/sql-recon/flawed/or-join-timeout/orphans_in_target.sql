-- Platform transactions with no ERP row behind them (exact or trimmed key).
SELECT DISTINCT trim(t.txn_id) AS txn_id
FROM target_txn AS t
LEFT JOIN source_txn AS s
       ON s.txn_id = t.txn_id OR trim(s.txn_id) = trim(t.txn_id)
WHERE trim(t.txn_id) <> ''
  AND s.txn_id IS NULL
