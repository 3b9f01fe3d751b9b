-- Teasers and reading time, worked out from the body when it is written (so lists
-- do no per-item parsing): the body's first paragraph as plain text (what an
-- excerpt is cut from when there is no standfirst) and its word count. Articles
-- written before these existed have NULLs, worked out when read.
ALTER TABLE articles
    ADD COLUMN lead_text text CONSTRAINT articles_lead_text_length CHECK (char_length(lead_text) <= 1000),
    ADD COLUMN word_count integer CONSTRAINT articles_word_count_positive CHECK (word_count >= 0);
