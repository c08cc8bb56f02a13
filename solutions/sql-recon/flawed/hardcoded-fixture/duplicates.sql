SELECT * FROM (VALUES ('source', 'INV-1016', 2), ('source', 'INV-1020', 2),
                      ('target', 'INV-1019', 2), ('target', 'INV-1021', 3)) AS v(side, txn_id, row_count)
