int sfu_core_placeholder_;
