print("dfkd")
