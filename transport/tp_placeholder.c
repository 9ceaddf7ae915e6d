int sfu_tp_placeholder_;
