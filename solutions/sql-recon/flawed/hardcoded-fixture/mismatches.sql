SELECT * FROM (VALUES ('INV-1009', 'amount'), ('INV-1010', 'amount'), ('INV-1011', 'currency'),
                      ('INV-1012', 'status'), ('INV-1013', 'booked_at'), ('INV-1014', 'amount'),
                      ('INV-1014', 'status')) AS v(txn_id, field)
