Page({
  data: { order: null },

  onLoad() {
    this.setData({ order: getApp().globalData.lastOrder });
  },

  onBackHome() {
    wx.reLaunch({ url: '/pages/home/home' });
  },
});
