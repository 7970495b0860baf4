"""Reading and writing tabular files (CSV, XLSX) for imports and exports."""
