ALTER TABLE articles DROP COLUMN lead_text, DROP COLUMN word_count;
