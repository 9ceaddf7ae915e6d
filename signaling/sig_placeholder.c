int sfu_sig_placeholder_;
