"""The page layer every server-rendered page shares: rendering with the CSRF token, guards that
answer people with pages (sign-in, 403, 404) instead of problem documents, form errors in the
error-summary pattern, and the workplace a signed-in person sees in the header."""
