// One shared value per key while anyone holds it: the first get() creates it, later ones get
// the same object, and once the last holder lets go the next get() creates it afresh. Used to
// share what a backend prepares from a model (packed or uploaded weights) among all its
// sessions. Thread-safe; creation runs under the lock, so two sessions starting together never
// create (pack, upload) twice.
#pragma once

#include <map>
#include <memory>
#include <mutex>

namespace pfrt::core {

template <class Key, class Value>
class SharedCache {
 public:
  template <class Create>
  std::shared_ptr<Value> get(const Key& key, Create&& create) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end();) {  // forget values nobody holds
      it = it->second.expired() ? entries_.erase(it) : std::next(it);
    }
    if (auto it = entries_.find(key); it != entries_.end()) return it->second.lock();
    std::shared_ptr<Value> value = create();  // may throw: nothing is cached then
    entries_[key] = value;
    return value;
  }

  size_t size() {
    std::lock_guard<std::mutex> lock(mutex_);
    size_t live = 0;
    for (const auto& [key, value] : entries_) live += value.expired() ? 0 : 1;
    return live;
  }

 private:
  std::mutex mutex_;
  std::map<Key, std::weak_ptr<Value>> entries_;
};

}  // namespace pfrt::core
