-- The public library holds only what a reviewer approved. Rows from before
-- (published without a person's consent) wait for review again.
ALTER TABLE public_answers ADD COLUMN status TEXT NOT NULL DEFAULT 'pending';
CREATE INDEX public_answers_status ON public_answers(status, updated_at);
